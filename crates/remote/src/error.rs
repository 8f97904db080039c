//! What can go wrong talking to a remote: each error names the remote URL,
//! run or chunk, and what to do.

use std::path::PathBuf;

use snapline_store::StoreError;

/// A remote operation's error.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("{url:?} is not a remote URL: {why} (write s3://BUCKET/PREFIX)")]
    BadUrl { url: String, why: String },
    #[error("{path}: {detail} (fix or delete the file)")]
    BadConfig { path: PathBuf, detail: String },
    #[error("no remote is configured: add one with `snapline remote add NAME s3://BUCKET/PREFIX`")]
    NoRemote,
    #[error("there is no remote named {name:?} (known: {known}); add it with `snapline remote add {name} s3://BUCKET/PREFIX`")]
    UnknownRemote { name: String, known: String },
    #[error("a remote named {name:?} already exists ({url}); remove it first with `snapline remote remove {name}`")]
    RemoteExists { name: String, url: String },
    #[error("{name:?} is not a remote name: use letters, digits, '-' and '_'")]
    BadName { name: String },
    #[error("cannot reach the remote {url} ({detail}): check AWS_ENDPOINT_URL and that the server is up")]
    Unreachable { url: String, detail: String },
    #[error("the remote {url} refused the credentials ({detail}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the AWS_PROFILE in ~/.aws/credentials")]
    Credentials { url: String, detail: String },
    #[error("the bucket of the remote {url} does not exist (create it, or fix the URL with `snapline remote remove` and `remote add`)")]
    NoBucket { url: String },
    #[error("{what} is not on the remote {url} (see `snapline runs --remote NAME`)")]
    UnknownRun { url: String, what: String },
    #[error("run {run} was deleted from the remote {url} while it was being pulled; nothing was written here (pull it again once it is pushed again)")]
    RunGone { url: String, run: String },
    #[error("chunk {chunk} named by the manifest of run {run} is missing from the remote {url}; nothing was written here (push the run again from the store that captured it)")]
    MissingChunk {
        url: String,
        run: String,
        chunk: String,
    },
    #[error("chunk {chunk} of run {run} on the remote {url} is damaged ({detail}); nothing was written here (push the run again)")]
    DamagedChunk {
        url: String,
        run: String,
        chunk: String,
        detail: String,
    },
    #[error("the manifest of run {run} on the remote {url} is unreadable ({detail}); push the run again")]
    BadManifest {
        url: String,
        run: String,
        detail: String,
    },
    #[error("run {run} cannot be pulled: {detail}")]
    Conflict { run: String, detail: String },
    #[error("the remote {url} answered with an error ({detail}); try again, or run with RUST_LOG=1 to see the client's full error")]
    Remote { url: String, detail: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Results of this crate.
pub type RemoteResult<T> = Result<T, RemoteError>;

/// Maps an `std::io::Error` at `path`.
pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> RemoteError {
    let path = path.into();
    move |source| RemoteError::Io { path, source }
}
