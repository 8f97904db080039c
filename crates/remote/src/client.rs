//! The S3 client of one remote: credentials and endpoint from the standard
//! AWS environment variables and files, and the few calls push and pull
//! make (list by prefix, get, put, multipart put, delete), each error
//! turned into one that names the remote and what to do.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as KeyPath;
use object_store::{
    ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart,
};

use crate::error::{RemoteError, RemoteResult};
use crate::layout::{chunk_key, chunk_of_key, run_key, run_of_key, RemoteUrl};
use crate::remotes::RemoteSpec;

/// Objects above this size are uploaded in parts.
pub const MULTIPART_THRESHOLD: usize = 8 << 20;

/// The size of each part of a multipart upload (S3's minimum is 5 MiB).
const PART_SIZE: usize = 5 << 20;

/// The multipart threshold: [`MULTIPART_THRESHOLD`], or
/// `SNAPLINE_REMOTE_TEST_MULTIPART` bytes when that hidden variable is set
/// (the store's chunks are at most 1 MiB, so the tests lower the threshold
/// to send them through a multipart upload; S3 refuses parts under 5 MiB
/// but the last, so the part size stays).
fn multipart_threshold() -> usize {
    std::env::var("SNAPLINE_REMOTE_TEST_MULTIPART")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(MULTIPART_THRESHOLD)
}

/// Requests in flight at once during a push or pull.
pub const PARALLEL_REQUESTS: usize = 16;

/// One remote, connected (no request is made until the first call).
pub struct Remote {
    pub name: String,
    pub url: RemoteUrl,
    store: Arc<dyn ObjectStore>,
    runtime: tokio::runtime::Runtime,
}

/// A value of the named AWS profile in an ini file, if both exist.
fn profile_value(file: &PathBuf, section: &str, key: &str) -> Option<String> {
    let ini = ini::Ini::load_from_file(file).ok()?;
    ini.section(Some(section))?.get(key).map(str::to_owned)
}

fn home_file(env: &str, rest: &str) -> Option<PathBuf> {
    std::env::var_os(env)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".aws").join(rest)))
}

fn env_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

/// The builder for `url`: `AWS_*` environment variables first, then the
/// profile (`AWS_PROFILE`, else `default`) of `~/.aws/credentials` and
/// `~/.aws/config` (or `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE`).
fn builder(url: &RemoteUrl) -> AmazonS3Builder {
    let mut b = AmazonS3Builder::from_env().with_bucket_name(&url.bucket);
    let profile = std::env::var("AWS_PROFILE").unwrap_or_else(|_| "default".into());
    if !env_set("AWS_ACCESS_KEY_ID") {
        if let Some(file) = home_file("AWS_SHARED_CREDENTIALS_FILE", "credentials") {
            if let (Some(id), Some(secret)) = (
                profile_value(&file, &profile, "aws_access_key_id"),
                profile_value(&file, &profile, "aws_secret_access_key"),
            ) {
                b = b.with_access_key_id(id).with_secret_access_key(secret);
                if let Some(token) = profile_value(&file, &profile, "aws_session_token") {
                    b = b.with_token(token);
                }
            }
        }
    }
    let config = home_file("AWS_CONFIG_FILE", "config");
    let section = if profile == "default" {
        "default".to_owned()
    } else {
        format!("profile {profile}")
    };
    let from_config = |key: &str| {
        config
            .as_ref()
            .and_then(|file| profile_value(file, &section, key))
    };
    if !env_set("AWS_REGION") && !env_set("AWS_DEFAULT_REGION") {
        if let Some(region) = from_config("region") {
            b = b.with_region(region);
        }
    }
    let mut endpoint = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .or_else(|| std::env::var("AWS_ENDPOINT").ok())
        .filter(|e| !e.is_empty());
    if endpoint.is_none() {
        endpoint = from_config("endpoint_url");
        if let Some(e) = &endpoint {
            b = b.with_endpoint(e);
        }
    }
    // Plain http only to this machine (a local MinIO or SeaweedFS).
    let loopback = endpoint.as_deref().is_some_and(is_loopback_http);
    b.with_retry(RetryConfig {
        max_retries: 3,
        retry_timeout: Duration::from_secs(20),
        ..RetryConfig::default()
    })
    .with_client_options(
        ClientOptions::new()
            .with_allow_http(loopback)
            .with_connect_timeout(Duration::from_secs(5))
            .with_timeout(Duration::from_secs(300)),
    )
}

/// Whether `endpoint` is `http://` to a loopback address.
fn is_loopback_http(endpoint: &str) -> bool {
    let Some(rest) = endpoint.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or("");
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Remote {
    /// Connects to `spec` (checks the configuration; makes no request).
    pub fn connect(spec: &RemoteSpec) -> RemoteResult<Remote> {
        // reqwest's rustls has no bundled crypto: ring is the process's
        // (deprecated only for lacking post-quantum key exchange; the
        // alternative, aws-lc-rs, is a long C build).
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let url = RemoteUrl::parse(&spec.url)?;
        let store = builder(&url).build().map_err(|e| RemoteError::Remote {
            url: spec.url.clone(),
            detail: format!("{e} (check the AWS_* settings)"),
        })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .map_err(crate::error::io_err("<tokio runtime>"))?;
        Ok(Remote {
            name: spec.name.clone(),
            url,
            store: Arc::new(store),
            runtime,
        })
    }

    /// The remote's URL, for messages.
    pub fn url_text(&self) -> String {
        self.url.display()
    }

    /// Turns a client error into one that names the remote and the fix.
    pub(crate) fn error(&self, e: object_store::Error) -> RemoteError {
        classify(&self.url_text(), e)
    }

    pub(crate) fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// Every key under `dir` with its size.
    fn list(&self, dir: &str) -> RemoteResult<Vec<(String, u64)>> {
        let prefix = KeyPath::from(dir);
        self.block_on(async {
            let mut stream = self.store.list(Some(&prefix));
            let mut out = Vec::new();
            while let Some(item) = stream.next().await {
                let meta = item.map_err(|e| self.error(e))?;
                out.push((meta.location.to_string(), meta.size));
            }
            Ok(out)
        })
    }

    /// The chunks the remote holds.
    pub fn chunk_names(&self) -> RemoteResult<HashSet<String>> {
        Ok(self
            .list(&self.url.chunks_dir())?
            .iter()
            .filter_map(|(key, _)| chunk_of_key(&self.url, key).map(str::to_owned))
            .collect())
    }

    /// The runs the remote holds (their manifests' sizes).
    pub fn run_ids(&self) -> RemoteResult<BTreeMap<String, u64>> {
        Ok(self
            .list(&self.url.runs_dir())?
            .iter()
            .filter_map(|(key, size)| run_of_key(&self.url, key).map(|r| (r.to_owned(), *size)))
            .collect())
    }

    /// The bytes at `key`; None when there is no such object.
    pub(crate) async fn get(&self, key: &str) -> RemoteResult<Option<Vec<u8>>> {
        match self.store.get(&KeyPath::from(key)).await {
            Ok(got) => match got.bytes().await {
                Ok(bytes) => Ok(Some(bytes.to_vec())),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(self.error(e)),
            },
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Writes `bytes` at `key` (in parts above [`MULTIPART_THRESHOLD`]).
    pub(crate) async fn put(&self, key: &str, bytes: Vec<u8>) -> RemoteResult<()> {
        let path = KeyPath::from(key);
        if bytes.len() <= multipart_threshold() {
            self.store
                .put(&path, PutPayload::from(bytes))
                .await
                .map_err(|e| self.error(e))?;
            return Ok(());
        }
        let upload = self
            .store
            .put_multipart(&path)
            .await
            .map_err(|e| self.error(e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        writer.write(&bytes);
        writer.finish().await.map_err(|e| self.error(e))?;
        Ok(())
    }

    /// Whether `key` exists.
    pub(crate) async fn exists(&self, key: &str) -> RemoteResult<bool> {
        match self.store.head(&KeyPath::from(key)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.error(e)),
        }
    }

    /// The key of chunk `hash`.
    pub(crate) fn chunk_key(&self, hash: &str) -> String {
        chunk_key(&self.url, hash)
    }

    /// The key of run `run`'s manifest.
    pub(crate) fn run_key(&self, run: &str) -> String {
        run_key(&self.url, run)
    }

    /// Raw put of `bytes` at `key` under the remote's prefix (the
    /// benchmark's baseline: the same client, no chunking or checks).
    pub fn put_raw(&self, key: &str, bytes: Vec<u8>) -> RemoteResult<()> {
        self.block_on(self.put(&self.url.under(key), bytes))
    }

    /// Raw get of `key` under the remote's prefix (the benchmark's baseline).
    pub fn get_raw(&self, key: &str) -> RemoteResult<Option<Vec<u8>>> {
        self.block_on(self.get(&self.url.under(key)))
    }

    /// Deletes `key` under the remote's prefix.
    pub fn delete_raw(&self, key: &str) -> RemoteResult<()> {
        let path = KeyPath::from(self.url.under(key));
        self.block_on(self.store.delete(&path))
            .map_err(|e| self.error(e))
    }
}

/// One short line for a client error: unreachable endpoint, refused
/// credentials, missing bucket, or the server's own error code. The raw
/// error chain (long, and repeating itself) is added only when `RUST_LOG`
/// is set.
fn classify(url: &str, e: object_store::Error) -> RemoteError {
    let chain = {
        let mut all = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            all.push_str(": ");
            all.push_str(&s.to_string());
            source = s.source();
        }
        all.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let has = |needle: &str| chain.contains(needle);
    let code = xml_tag(&chain, "Code");
    let with_raw = |reason: String| {
        if std::env::var_os("RUST_LOG").is_some() {
            format!("{reason}; raw error: {chain}")
        } else {
            reason
        }
    };
    let url = url.to_owned();
    if code.as_deref() == Some("NoSuchBucket")
        || has("bucket does not exist")
        || has("The specified bucket")
    {
        return RemoteError::NoBucket { url };
    }
    let denied = matches!(
        e,
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }
    ) || [
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "403 Forbidden",
        "401 Unauthorized",
        "Missing credentials",
    ]
    .iter()
    .any(|n| has(n));
    if denied {
        let reason = match code.as_deref() {
            Some("InvalidAccessKeyId") => "the access key is unknown there".to_owned(),
            Some("SignatureDoesNotMatch") => "the secret key does not match".to_owned(),
            Some("AccessDenied") => "access denied".to_owned(),
            Some(other) => other.to_owned(),
            None if has("Missing credentials") => "no credentials were found".to_owned(),
            None => http_status(&chain).unwrap_or_else(|| "access denied".to_owned()),
        };
        return RemoteError::Credentials {
            url,
            detail: with_raw(reason),
        };
    }
    let reason = if has("Connection refused") {
        Some("connection refused")
    } else if has("dns error") || has("failed to lookup address") {
        Some("the host name does not resolve")
    } else if has("timed out") || has("deadline has elapsed") {
        Some("timed out")
    } else if has("error sending request") || has("connect") {
        Some("no connection")
    } else {
        None
    };
    if let Some(reason) = reason {
        return RemoteError::Unreachable {
            url,
            detail: with_raw(reason.to_owned()),
        };
    }
    let reason = match (code, xml_tag(&chain, "Message")) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code,
        _ => http_status(&chain).unwrap_or_else(|| first_clause(&e.to_string())),
    };
    RemoteError::Remote {
        url,
        detail: with_raw(reason),
    }
}

/// The text of the first `<tag>...</tag>` of an S3 XML error body.
fn xml_tag(text: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = text.find(&open)? + open.len();
    let end = text.get(start..)?.find("</")? + start;
    let value = text.get(start..end)?.trim();
    (!value.is_empty()).then(|| value.chars().take(120).collect())
}

/// "HTTP 503 Service Unavailable" from "... status code: 503 Service Unavailable: ...".
fn http_status(text: &str) -> Option<String> {
    let at = text.find("status code: ")? + "status code: ".len();
    let rest = text.get(at..)?;
    let status = rest.split(':').next()?.trim();
    (!status.is_empty()).then(|| format!("HTTP {status}"))
}

/// The client's message up to its first " - " or ": ", at most 120 characters.
fn first_clause(text: &str) -> String {
    let cut = [" - ", ": "]
        .iter()
        .filter_map(|sep| text.find(sep))
        .min()
        .unwrap_or(text.len());
    text.get(..cut).unwrap_or(text).chars().take(120).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(is_loopback_http("http://127.0.0.1:8333"));
        assert!(is_loopback_http("http://localhost:9000/"));
        assert!(is_loopback_http("http://[::1]:9000"));
        assert!(!is_loopback_http("http://10.0.0.5:9000"));
        assert!(!is_loopback_http("https://127.0.0.1:9000"));
    }

    #[test]
    fn short_reasons_from_a_server_error() {
        let text = "403 Forbidden: <?xml version=\"1.0\"?> <Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message></Error>";
        assert_eq!(
            xml_tag(text, "Code").as_deref(),
            Some("SignatureDoesNotMatch")
        );
        assert_eq!(
            http_status("Server returned non-2xx status code: 503 Service Unavailable: busy")
                .as_deref(),
            Some("HTTP 503 Service Unavailable")
        );
        assert_eq!(
            first_clause("Generic S3 error: Error performing GET x"),
            "Generic S3 error"
        );
    }
}
