//! The `registry` binary: see `api::cli`.

/// mimalloc rather than glibc malloc: a response allocates a small object per field, and
/// malloc/free were about 30% of the server's CPU on large pages (`bench/RESULTS.md`). Its 2.x
/// line (the crate's `v2` feature), not 3.x: in alternating runs of 32 concurrent nested pages
/// 3.x spent 4-9% more server CPU a page, most of it in its allocation fast path.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    api::cli::main()
}
