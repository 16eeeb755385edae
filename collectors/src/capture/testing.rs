//! Test helpers shared by the capture modules.

/// `unwrap` that names the failure; the workspace lints forbid `unwrap`, tests included.
pub(crate) trait Must<T> {
    /// The value, or a panic at the caller saying what was there instead.
    fn must(self) -> T;
}

impl<T, E: std::fmt::Debug> Must<T> for Result<T, E> {
    #[track_caller]
    fn must(self) -> T {
        match self {
            Ok(value) => value,
            Err(error) => panic!("unexpected error: {error:?}"),
        }
    }
}

impl<T> Must<T> for Option<T> {
    #[track_caller]
    fn must(self) -> T {
        match self {
            Some(value) => value,
            None => panic!("unexpected None"),
        }
    }
}
