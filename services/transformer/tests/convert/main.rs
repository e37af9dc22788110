//! The one-shot `convert` command, run as users run it: the built binary on files generated here.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use image::{DynamicImage, GenericImageView, Rgb, RgbImage};

/// A fresh directory under the system temp dir, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "imagepipe-convert-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn encoded(width: u32, height: u32, format: image::ImageFormat) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| Rgb([x as u8, y as u8, 120]));
    let mut bytes = std::io::Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(image)
        .write_to(&mut bytes, format)
        .unwrap();
    bytes.into_inner()
}

fn convert(args: &[&str], files: &[&Path]) -> (Output, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_imagepipe-transformer"))
        .arg("convert")
        .args(args)
        .args(files)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    (output, stdout)
}

#[test]
fn converts_files_and_reports_each() {
    let scratch = Scratch::new();
    let jpeg = scratch.write("photo.jpg", &encoded(400, 300, image::ImageFormat::Jpeg));
    let png = scratch.write(
        "drawing.v2.png",
        &encoded(300, 400, image::ImageFormat::Png),
    );
    let out = scratch.0.join("out");
    let (output, stdout) = convert(
        &[
            "--width",
            "100",
            "--height",
            "100",
            "--format",
            "webp",
            "--threads",
            "2",
            "--out-dir",
            out.to_str().unwrap(),
        ],
        &[&jpeg, &png],
    );
    assert!(output.status.success(), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    for (name, written, size) in [
        ("photo.jpg", "photo.webp", (100, 75)),
        ("drawing.v2.png", "drawing.v2.webp", (75, 100)),
    ] {
        let line = lines.iter().find(|line| line.contains(name)).unwrap();
        let expected = format!("{}x{} ", size.0, size.1);
        assert!(
            line.starts_with("ok ") && line.contains(&expected),
            "{line}"
        );
        assert!(line.contains(" bytes ") && line.ends_with(" ms"), "{line}");
        let result = image::open(out.join(written)).unwrap();
        assert_eq!(result.dimensions(), size, "{written}");
    }
}

#[test]
fn a_bad_file_fails_the_run_with_an_error_line() {
    let scratch = Scratch::new();
    let good = scratch.write("good.png", &encoded(20, 10, image::ImageFormat::Png));
    let bad = scratch.write("bad.jpg", b"this is not a JPEG");
    let out = scratch.0.join("out");
    let (output, stdout) = convert(
        &["--width", "10", "--out-dir", out.to_str().unwrap()],
        &[&good, &bad],
    );
    assert!(!output.status.success(), "{stdout}");
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|line| line.starts_with("ok ") && line.contains("good.png")),
        "{stdout}"
    );
    let error = stdout
        .lines()
        .find(|line| line.starts_with("error "))
        .unwrap();
    assert!(error.contains("bad.jpg: decode_failed: "), "{error}");
    assert!(out.join("good.png").exists());
    assert!(!out.join("bad.jpeg").exists());
}

#[test]
fn a_bad_flag_is_refused_before_any_work() {
    let scratch = Scratch::new();
    let good = scratch.write("good.png", &encoded(20, 10, image::ImageFormat::Png));
    let (output, _) = convert(&["--fit", "squash", "--out-dir", "x"], &[&good]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("squash"));
}

#[test]
fn variants_are_written_side_by_side_with_every_option() {
    let scratch = Scratch::new();
    let jpeg = scratch.write("photo.jpg", &encoded(400, 300, image::ImageFormat::Jpeg));
    let out = scratch.0.join("out");
    let (output, stdout) = convert(
        &[
            "--fit",
            "cover",
            "--gravity",
            "north",
            "--grayscale",
            "--progressive",
            "--variants",
            "square:100x100,wide:200w.webp,thumb",
            "--presets",
            "thumb:50x50.png",
            "--out-dir",
            out.to_str().unwrap(),
        ],
        &[&jpeg],
    );
    assert!(output.status.success(), "{stdout}");
    let line = stdout.lines().next().unwrap();
    assert!(line.starts_with("ok ") && line.ends_with(" ms"), "{line}");
    for (written, size, format) in [
        ("photo.square.jpeg", (100, 100), image::ImageFormat::Jpeg),
        ("photo.wide.webp", (200, 150), image::ImageFormat::WebP),
        ("photo.thumb.png", (50, 38), image::ImageFormat::Png),
    ] {
        assert!(line.contains(written), "{line}");
        let bytes = std::fs::read(out.join(written)).unwrap();
        assert_eq!(image::guess_format(&bytes).unwrap(), format, "{written}");
        let result = image::load_from_memory(&bytes).unwrap();
        assert_eq!(result.dimensions(), size, "{written}");
    }
    let (output, _) = convert(
        &["--variants", "nope", "--out-dir", out.to_str().unwrap()],
        &[&jpeg],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no preset `nope`"));
}
