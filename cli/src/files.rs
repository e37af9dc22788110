//! Which files an upload sends, and what its outputs are called: the paths given (directories walked for image
//! files by extension), each with a stem that is unique among them, and `<stem>.<output>.<format>` for each
//! output written.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use crate::error::CliError;

/// Extensions of the image files a directory is searched for (case-insensitive).
pub const IMAGE_EXTENSIONS: [&str; 8] = ["jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff"];

/// One file to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// Where it is.
    pub path: PathBuf,
    /// The path as shown to people.
    pub label: String,
    /// The start of its outputs' names: the file stem, with `-2`, `-3`, … when another input has the same stem.
    pub stem: String,
    /// Its size in bytes.
    pub size: u64,
}

/// The files `paths` name: files as given (whatever their extension), directories walked recursively for image
/// files (hidden entries skipped), in a stable order and without repeats.
///
/// # Errors
/// [`CliError::Read`] for a path that does not exist or a directory that cannot be read.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<Input>, CliError> {
    let mut files = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path).map_err(|source| CliError::Read {
            path: path.clone(),
            source,
        })?;
        if metadata.is_dir() {
            walk(path, &mut files)?;
        } else {
            files.push((path.clone(), metadata.len()));
        }
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|(path, _)| seen.insert(path.clone()));
    let mut stems: HashMap<String, usize> = HashMap::new();
    Ok(files
        .into_iter()
        .map(|(path, size)| {
            let stem = path
                .file_stem()
                .map_or_else(|| "image".to_owned(), |s| s.to_string_lossy().into_owned());
            let count = stems.entry(stem.clone()).or_default();
            *count += 1;
            let stem = if *count == 1 {
                stem
            } else {
                format!("{stem}-{count}")
            };
            Input {
                label: path.display().to_string(),
                path,
                stem,
                size,
            }
        })
        .collect())
}

fn walk(dir: &Path, files: &mut Vec<(PathBuf, u64)>) -> Result<(), CliError> {
    let read_error = |source| CliError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(read_error)?
        .collect::<Result<_, _>>()
        .map_err(read_error)?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let metadata = std::fs::metadata(&path).map_err(|source| CliError::Read {
            path: path.clone(),
            source,
        })?;
        if metadata.is_dir() {
            walk(&path, files)?;
        } else if is_image(&path) {
            files.push((path, metadata.len()));
        }
    }
    Ok(())
}

/// Whether the file's extension is an image's.
#[must_use]
pub fn is_image(path: &Path) -> bool {
    path.extension()
        .map(|extension| extension.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|extension| IMAGE_EXTENSIONS.contains(&extension.as_str()))
}

/// The MIME type an upload of this file is labelled with (the gateway sniffs the real format).
#[must_use]
pub fn content_type(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .map(|extension| extension.to_string_lossy().to_ascii_lowercase());
    match extension.as_deref() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        Some("gif") => "image/gif",
        Some("bmp") => "image/bmp",
        Some("tif" | "tiff") => "image/tiff",
        _ => "application/octet-stream",
    }
}

/// The file name of output `output` (in `format`) of the input with stem `stem`: `<stem>.<output>.<format>`.
#[must_use]
pub fn output_name(stem: &str, output: &str, format: &str) -> String {
    format!("{stem}.{output}.{format}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_give_their_images_and_stems_stay_unique() {
        let root = std::env::temp_dir().join(format!("imagepipe-cli-files-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(root.join(".hidden")).unwrap();
        for name in [
            "b.PNG",
            "a.jpg",
            "notes.txt",
            "sub/a.webp",
            ".hidden/c.png",
            ".d.png",
        ] {
            std::fs::write(root.join(name), b"1234").unwrap();
        }
        let explicit = root.join("notes.txt");
        let inputs = collect(&[root.clone(), explicit.clone(), root.join("a.jpg")]).unwrap();
        let found: Vec<(&str, &str)> = inputs
            .iter()
            .map(|input| {
                (
                    input.path.strip_prefix(&root).unwrap().to_str().unwrap(),
                    input.stem.as_str(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                ("a.jpg", "a"),
                ("b.PNG", "b"),
                ("sub/a.webp", "a-2"),
                ("notes.txt", "notes")
            ],
            "images only from directories; a file named explicitly whatever it is; no repeats"
        );
        assert_eq!(inputs[0].size, 4);
        let missing = collect(&[root.join("missing.png")]).unwrap_err();
        assert_eq!(missing.code(), "read_failed");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn names_and_types() {
        assert_eq!(output_name("cat", "thumb", "webp"), "cat.thumb.webp");
        assert_eq!(output_name("cat", "default", "jpeg"), "cat.default.jpeg");
        assert_eq!(content_type(Path::new("x.JPG")), "image/jpeg");
        assert_eq!(content_type(Path::new("x.tif")), "image/tiff");
        assert_eq!(content_type(Path::new("x")), "application/octet-stream");
        assert!(is_image(Path::new("a/b.WebP")));
        assert!(!is_image(Path::new("a/b.svg")));
    }
}
