//! The committed `schema.graphql` is the SDL the code exports. `UPDATE_SCHEMA=1 cargo test`
//! rewrites it after a deliberate change.

#[test]
fn committed_schema_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql");
    let sdl = api::graphql::sdl();
    if std::env::var("UPDATE_SCHEMA").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &sdl).expect("write schema.graphql");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == sdl,
        "schema.graphql is out of date: run `UPDATE_SCHEMA=1 cargo test -p api --test schema` and commit it"
    );
}
