//! The `registry` binary: see `api::cli`.

/// mimalloc rather than glibc malloc: a response allocates a small object per field, and
/// malloc/free were about 30% of the server's CPU on large pages (`bench/RESULTS.md`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    api::cli::main()
}
