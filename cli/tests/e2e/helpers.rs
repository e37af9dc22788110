//! The built `imagepipe` binary, scratch directories and test pictures on disk; the stack it runs against is
//! the system's ([`Stack`]).

use std::{
    path::{Path, PathBuf},
    process::Output,
};

pub use imagepipe_system_tests::Stack;
use imagepipe_system_tests::picture;

/// Runs the built `imagepipe` binary with `args` (and `IMAGEPIPE_URL` unset unless given in `env`).
pub async fn imagepipe(args: &[&str], env: &[(&str, &str)]) -> Output {
    let args: Vec<String> = args.iter().map(|&arg| arg.to_owned()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_imagepipe"))
            .args(&args)
            .env_remove("IMAGEPIPE_URL")
            .envs(env)
            .output()
            .expect("imagepipe runs")
    })
    .await
    .unwrap()
}

/// A fresh, empty directory under the system's temporary directory.
pub fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("imagepipe-cli-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes a `width` x `height` test picture encoded as `format` to `path`.
pub fn write_picture(path: &Path, width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let bytes = picture(width, height, format);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, &bytes).unwrap();
    bytes
}

/// The format and dimensions of an image file.
pub fn decoded(path: &Path) -> (image::ImageFormat, u32, u32) {
    let bytes = std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    imagepipe_system_tests::decoded(&bytes)
}
