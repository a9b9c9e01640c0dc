//! Personalized broadcasts: a broadcast's content written as a Jinja template
//! (`Hello {{ attrs.nickname }}`), compiled once per broadcast version and rendered per user
//! at pull time.
//!
//! The engine is [minijinja], sandboxed: no loader (a template reads no file and includes
//! no other), undefined variables are errors ([`UndefinedBehavior::Strict`]), and every
//! render runs under the limits below: [`MAX_FUEL`] instructions, [`MAX_DEPTH`] levels of
//! recursion (recursive loops; macros and includes are not compiled in), [`MAX_OUTPUT_BYTES`] of output (written into a writer that stops at the cap,
//! so a huge output is never held in memory). A render that hits a limit fails with a
//! [`RenderError`] naming it.
//!
//! [`TemplatedContent`] is what the pull workers and the console's preview both render: a
//! broadcast's template for one viewer, or its fallback content and why
//! (docs/design.md#templates).

mod personalized;

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;

use minijinja::value::Value;
use minijinja::{Environment, ErrorKind, UndefinedBehavior};

pub use personalized::{Fallback, Personalized, TemplatedContent};

/// The instruction budget of one render (minijinja's fuel: about one per instruction and
/// one per 64 bytes of data made). A greeting with a few attributes uses well under 100.
pub const MAX_FUEL: u64 = 20_000;
/// The deepest nesting a render may reach (blocks, loops, recursive loops).
pub const MAX_DEPTH: usize = 64;
/// The largest output of one render: ingest's default `max_content_bytes`.
pub const MAX_OUTPUT_BYTES: usize = 64 * 1024;

/// The name of the one template each environment holds.
const NAME: &str = "content";

/// A compiled template: an environment holding it, shared, so that cloning is cheap and
/// every render reuses the compilation.
#[derive(Clone)]
pub struct Template {
    environment: Arc<Environment<'static>>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Template").finish_non_exhaustive()
    }
}

/// A template that does not compile, with where: 1-based line and column (in characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct TemplateError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// Why one render failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    #[error("the render used up its budget of {MAX_FUEL} instructions")]
    OutOfFuel,
    #[error("the output exceeds {MAX_OUTPUT_BYTES} bytes")]
    OutputTooLarge,
    #[error("the render nests deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("line {line}: {message}")]
    Failed { line: usize, message: String },
}

impl RenderError {
    /// A short name of the cause, for metric labels.
    pub fn reason(&self) -> &'static str {
        match self {
            RenderError::OutOfFuel => "out_of_fuel",
            RenderError::OutputTooLarge => "output_too_large",
            RenderError::TooDeep => "too_deep",
            RenderError::Failed { .. } => "failed",
        }
    }
}

/// What a template sees of the user it is rendered for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub uid: i64,
    pub platform: Option<String>,
    pub app_version: Option<String>,
    pub core_level: Option<i64>,
    /// The attributes a business server set for the user.
    pub attrs: BTreeMap<String, String>,
}

impl Context {
    /// Unknown client fields are `none`, not undefined: a template can test them
    /// (`{% if platform %}`) without failing.
    fn to_value(&self) -> Value {
        let optional = |value: Option<Value>| value.unwrap_or(Value::from(()));
        let attrs: BTreeMap<String, Value> =
            self.attrs.iter().map(|(key, value)| (key.clone(), Value::from(value.as_str()))).collect();
        let fields: BTreeMap<&str, Value> = BTreeMap::from([
            ("uid", Value::from(self.uid)),
            ("platform", optional(self.platform.as_deref().map(Value::from))),
            ("app_version", optional(self.app_version.as_deref().map(Value::from))),
            ("core_level", optional(self.core_level.map(Value::from))),
            ("attrs", Value::from(attrs)),
        ]);
        Value::from(fields)
    }
}

/// Compiles `source`, or says where it is wrong.
pub fn compile(source: &str) -> Result<Template, TemplateError> {
    let mut environment = Environment::new();
    environment.set_undefined_behavior(UndefinedBehavior::Strict);
    environment.set_fuel(Some(MAX_FUEL));
    environment.set_recursion_limit(MAX_DEPTH);
    environment.set_debug(true);
    environment.add_template_owned(NAME, source.to_owned()).map_err(|error| {
        let (line, column) = position(source, &error);
        TemplateError { line, column, message: message(&error) }
    })?;
    Ok(Template { environment: Arc::new(environment) })
}

/// Renders `template` for the user of `context`, within the limits.
pub fn render(template: &Template, context: &Context) -> Result<String, RenderError> {
    let compiled = template.environment.get_template(NAME).expect("compile added the template");
    let mut output = CappedWriter::default();
    match compiled.render_captured_to(context.to_value(), &mut output) {
        Ok(_) => Ok(String::from_utf8(output.bytes).expect("minijinja writes UTF-8")),
        Err(_) if output.overflowed => Err(RenderError::OutputTooLarge),
        Err(error) if error.kind() == ErrorKind::OutOfFuel => Err(RenderError::OutOfFuel),
        Err(error) if error.detail() == Some("recursion limit exceeded") => Err(RenderError::TooDeep),
        Err(error) => Err(RenderError::Failed { line: error.line().unwrap_or(1), message: message(&error) }),
    }
}

/// The error's kind and detail, without the debug dump that `Display` adds.
fn message(error: &minijinja::Error) -> String {
    match error.detail() {
        Some(detail) => format!("{}: {detail}", error.kind()),
        None => error.kind().to_string(),
    }
}

/// The 1-based line and column at which `error` starts in `source`.
fn position(source: &str, error: &minijinja::Error) -> (usize, usize) {
    let line = error.line().unwrap_or(1);
    let column = match error.range() {
        Some(range) => {
            let before = &source[..range.start.min(source.len())];
            before.chars().rev().take_while(|c| *c != '\n').count() + 1
        }
        None => 1,
    };
    (line, column)
}

/// Keeps at most [`MAX_OUTPUT_BYTES`]; a write past them fails, which stops the render.
#[derive(Debug, Default)]
struct CappedWriter {
    bytes: Vec<u8>,
    overflowed: bool,
}

impl io::Write for CappedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.bytes.len() + buf.len() > MAX_OUTPUT_BYTES {
            self.overflowed = true;
            return Err(io::Error::other("template output cap reached"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(uid: i64, nickname: &str) -> Context {
        Context { uid, attrs: BTreeMap::from([("nickname".to_owned(), nickname.to_owned())]), ..Default::default() }
    }

    #[test]
    fn one_compiled_template_renders_each_users_own_attributes() {
        let template = compile("Hello {{ attrs.nickname }} ({{ uid }})").unwrap();
        assert_eq!(render(&template, &user(1, "Ada")).unwrap(), "Hello Ada (1)");
        assert_eq!(render(&template, &user(2, "Grace")).unwrap(), "Hello Grace (2)");
    }

    #[test]
    fn client_fields_are_none_when_unknown_and_filters_work() {
        let template =
            compile("{% if platform %}{{ platform | upper }} {{ core_level }}{% else %}anywhere{% endif %}").unwrap();
        assert_eq!(render(&template, &Context::default()).unwrap(), "anywhere");
        let ios = Context { platform: Some("ios".into()), core_level: Some(220_819), ..Default::default() };
        assert_eq!(render(&template, &ios).unwrap(), "IOS 220819");
    }

    #[test]
    fn a_syntax_error_names_its_line_and_column() {
        let error = compile("Hello\n  {{ attrs.nickname }\n").unwrap_err();
        assert_eq!((error.line, error.column), (2, 21), "{error}");
        assert!(error.message.starts_with("syntax error"), "{error}");
        let unclosed = compile("one\ntwo\n{% if x %}three").unwrap_err();
        assert_eq!(unclosed.line, 3, "{unclosed}");
    }

    #[test]
    fn an_undefined_attribute_fails_the_render_and_names_the_line() {
        let template = compile("Hello\n{{ attrs.nickname }}").unwrap();
        match render(&template, &Context::default()).unwrap_err() {
            RenderError::Failed { line, message } => {
                assert_eq!(line, 2);
                assert!(message.starts_with("undefined value"), "{message}");
            }
            other => panic!("expected a failed render, got {other:?}"),
        }
    }

    #[test]
    fn an_endless_loop_runs_out_of_fuel() {
        let template =
            compile("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}").unwrap();
        assert_eq!(render(&template, &Context::default()), Err(RenderError::OutOfFuel));
    }

    #[test]
    fn a_huge_output_stops_at_the_cap() {
        // Each write is small and cheap, so the output cap, not the fuel, stops it.
        let template = compile(&format!("{{{{ '{}' * 1000 }}}}", "x".repeat(100))).unwrap();
        assert_eq!(render(&template, &Context::default()), Err(RenderError::OutputTooLarge));
    }

    #[test]
    fn deep_recursion_is_cut_off() {
        let template = compile("{% for x in [[1]] recursive %}{{ loop([x]) }}{% endfor %}").unwrap();
        assert_eq!(render(&template, &Context::default()), Err(RenderError::TooDeep));
        // Without minijinja's `macros` feature, a macro (the other way to recurse) does not compile.
        let recursive_macro = compile("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").unwrap_err();
        assert_eq!(recursive_macro.message, "syntax error: unknown statement macro");
    }

    #[test]
    fn a_template_reads_no_files() {
        let refused = compile("{% include '/etc/passwd' %}").unwrap_err();
        assert_eq!(refused.message, "syntax error: unknown statement include");
    }
}
