//! The served OpenAPI document, checked by independent tools (Python, in `infra/interop`):
//! `openapi-spec-validator` accepts it, and schemathesis, driving a running all-in-one with
//! requests derived from it (`infra/interop/schemathesis.toml` says which checks and why),
//! finds no answer the document does not describe.

use std::path::Path;
use std::process::Command;

use tidings_http::CallerRole;

use crate::harness::{Mode, Server};

#[tokio::test]
async fn the_openapi_document_passes_a_validator_and_schemathesis() {
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let tools = repository.join("infra/.run/interop-venv/bin");
    assert!(tools.join("st").exists(), "no schemathesis in {}: run infra/interop/setup.sh", tools.display());
    let server = Server::start(Mode::Embedded).await;
    let api = server.all_in_one_api().to_owned();

    let document = reqwest::get(format!("{api}/openapi.json")).await.unwrap().text().await.unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("openapi.json");
    std::fs::write(&file, document).unwrap();
    report(Command::new(tools.join("openapi-spec-validator")).arg(&file), "openapi-spec-validator");

    let app_token = server.token(CallerRole::App, 1, "schemathesis", 3600, false);
    let user_token = server.token(CallerRole::User, 1, "42", 3600, false);
    report(
        Command::new(tools.join("st"))
            .current_dir(scratch.path())
            .arg("--config-file")
            .arg(repository.join("infra/interop/schemathesis.toml"))
            .args(["run", &format!("{api}/openapi.json"), "--max-examples", "25", "--seed", "1", "--no-color"])
            .env("TIDINGS_APP_TOKEN", app_token)
            .env("TIDINGS_USER_TOKEN", user_token),
        "schemathesis",
    );
}

/// Runs a checker; its whole output when it fails.
fn report(command: &mut Command, name: &str) {
    let output = command.output().unwrap_or_else(|error| panic!("running {name}: {error}"));
    assert!(
        output.status.success(),
        "{name} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
