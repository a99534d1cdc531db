//! `understudy classify`.

/// Runs the verb with its arguments and returns the exit code.
pub fn run(_args: &[String]) -> i32 {
    eprintln!("understudy: 'classify' is not available in this build");
    2
}
