//! The `understudy` command line: a native front end to the core.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(understudy::cli::main(&args));
}
