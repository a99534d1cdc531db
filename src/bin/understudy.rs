//! The `understudy` command line: a native front end to the core.

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(understudy::cli::main(&args));
}

/// The command line has no meaning inside a browser; this keeps wasm32 builds of the package whole.
#[cfg(target_arch = "wasm32")]
fn main() {}
