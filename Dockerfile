# The tidings binary in a small image.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin tidings

FROM debian:bookworm-slim
COPY --from=build /src/target/release/tidings /usr/local/bin/tidings
ENV TIDINGS_DATA_DIR=/data TIDINGS_LISTEN=0.0.0.0:8080 TIDINGS_ADMIN_LISTEN=0.0.0.0:9090
VOLUME /data
EXPOSE 8080 9090
ENTRYPOINT ["tidings"]
CMD ["all-in-one"]
