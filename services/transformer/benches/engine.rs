//! The engine against libvips, single thread, on the shared benchmark images: `cargo bench -p
//! imagepipe-transformer --bench engine`.
//!
//! For each job it times, median of `IMAGEPIPE_BENCH_RUNS` (default 11) runs:
//! - `engine::transform` in this process (bytes in memory to bytes in memory);
//! - the `imagepipe-transformer convert` release binary (a process: read, transform, write a file);
//! - `vipsthumbnail` with `VIPS_CONCURRENCY=1` (a process too).
//!
//! vipsthumbnail's time per image without its start-up ("vips per image") comes from one process over many
//! copies of the image less one over a single copy; the ratio checked against the targets is our
//! in-process time over that (the process-to-process ratio, start-up included, is printed too). It also
//! prints each result's PSNR against a reference (full decode + Lanczos3, unencoded) and, with
//! `/usr/bin/time`, the peak RSS of J1 for both processes (when J1 runs).
//!
//! Images come from `IMAGEPIPE_CORPUS` (default `../shared/corpus` beside the repository); without them, or
//! without `vipsthumbnail`, it says so and stops. `IMAGEPIPE_BENCH_JOBS` runs only the jobs it names,
//! comma-separated (`IMAGEPIPE_BENCH_JOBS=J4`, `IMAGEPIPE_BENCH_JOBS=J1,J3`); unset or empty, all four run.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::DynamicImage;
use imagepipe_engine::{self as engine, Limits};
use imagepipe_proto::v1::{ImageFormat, TransformSpec};

/// One benchmark job.
struct Job {
    name: &'static str,
    image: &'static str,
    width: u32,
    /// `None`: width only.
    height: Option<u32>,
    format: ImageFormat,
    quality: u32,
    /// Most our time may be, as a share of vipsthumbnail's.
    target: f64,
}

impl Job {
    /// The job's short name, its first word: `J1`..`J4`.
    fn id(&self) -> &'static str {
        self.name.split(' ').next().unwrap_or(self.name)
    }
}

const JOBS: [Job; 4] = [
    Job {
        name: "J1 12 MP JPEG -> fit 256x256 JPEG q80",
        image: "bench_12mp.jpg",
        width: 256,
        height: Some(256),
        format: ImageFormat::Jpeg,
        quality: 80,
        target: 0.7,
    },
    Job {
        name: "J2 12 MP JPEG -> fit 1280x1280 JPEG q85",
        image: "bench_12mp.jpg",
        width: 1280,
        height: Some(1280),
        format: ImageFormat::Jpeg,
        quality: 85,
        target: 0.45,
    },
    Job {
        name: "J3 1 MP JPEG -> fit 256x256 JPEG q80",
        image: "bench_1mp.jpg",
        width: 256,
        height: Some(256),
        format: ImageFormat::Jpeg,
        quality: 80,
        target: 0.4,
    },
    Job {
        name: "J4 2 MP PNG -> 800 px wide WebP q80",
        image: "bench_2mp.png",
        width: 800,
        height: None,
        format: ImageFormat::Webp,
        quality: 80,
        target: 0.65,
    },
];

fn main() {
    let corpus = std::env::var_os("IMAGEPIPE_CORPUS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"),
        PathBuf::from,
    );
    if !corpus.join("bench_12mp.jpg").is_file() {
        println!(
            "skipped: no benchmark images in {} (set IMAGEPIPE_CORPUS to the folder holding bench_12mp.jpg, \
             bench_1mp.jpg and bench_2mp.png)",
            corpus.display()
        );
        return;
    }
    if Command::new("vipsthumbnail")
        .arg("--version")
        .output()
        .is_err()
    {
        println!(
            "skipped: vipsthumbnail not found; install libvips' tools (Debian/Ubuntu: \
             apt-get install libvips-tools) and run again"
        );
        return;
    }
    let runs: usize = std::env::var("IMAGEPIPE_BENCH_RUNS")
        .ok()
        .and_then(|runs| runs.parse().ok())
        .filter(|&runs| runs > 0)
        .unwrap_or(11);
    let selected = std::env::var("IMAGEPIPE_BENCH_JOBS").unwrap_or_default();
    let selected: Vec<&str> = selected
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .collect();
    let jobs: Vec<&Job> = JOBS
        .iter()
        .filter(|job| {
            selected.is_empty()
                || selected
                    .iter()
                    .any(|name| name.eq_ignore_ascii_case(job.id()))
        })
        .collect();
    if jobs.is_empty() {
        println!(
            "skipped: IMAGEPIPE_BENCH_JOBS={} names no job (the jobs are {})",
            selected.join(","),
            JOBS.iter().map(Job::id).collect::<Vec<_>>().join(", ")
        );
        return;
    }
    let out = std::env::temp_dir().join(format!("imagepipe-bench-{}", std::process::id()));
    std::fs::create_dir_all(&out).expect("a scratch directory");
    let ours_binary = env!("CARGO_BIN_EXE_imagepipe-transformer");
    let vips_version = Command::new("vips")
        .arg("--version")
        .output()
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default();

    println!(
        "single thread, median of {runs} runs; {vips_version}; images from {}",
        corpus.display()
    );
    println!(
        "vips per image: one vipsthumbnail process over {runs} copies of the image, less one over a single \
         copy, divided by {} (its start-up excluded); median of 3 such measures",
        runs.saturating_sub(1).max(1)
    );
    println!();
    println!(
        "| job | ours ms (in-process) | vips ms (per image) | ours convert ms (process) | vipsthumbnail ms (process) \
         | ratio | ratio (process / process) | target | pass | PSNR ours dB \
         | PSNR full decode + Lanczos3, same encoder dB | PSNR vips dB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for &job in &jobs {
        let input = corpus.join(job.image);
        let original = std::fs::read(&input).expect("the benchmark image");
        let spec = TransformSpec {
            width: Some(job.width),
            height: job.height,
            format: job.format as i32,
            quality: Some(job.quality),
            ..TransformSpec::default()
        };
        let ours_command = ours_command(ours_binary, job, &input, &out.join("ours"));
        let (vips_command, vips_output) = vips_command(job, &input, &out.join("vips"));
        // The three are measured in turn, run after run, so a busy neighbour slows all of them alike.
        let [in_process, ours, vips] = medians(
            runs,
            [
                &mut || {
                    let started = Instant::now();
                    let output = engine::transform(&original, &spec, &Limits::default());
                    let elapsed = started.elapsed();
                    std::hint::black_box(
                        output.expect("the engine transforms the benchmark image"),
                    );
                    elapsed
                },
                &mut || time_command(&ours_command),
                &mut || time_command(&vips_command),
            ],
        );
        let copies: Vec<PathBuf> = (0..runs.max(2))
            .map(|copy| {
                let path = out.join(format!("copy{copy}-{}", job.image));
                std::fs::copy(&input, &path).expect("a copy of the benchmark image");
                path
            })
            .collect();
        let vips_net = vips_per_image(job, &copies, &out.join("vips-batch"));
        let ratio = in_process.as_secs_f64() / vips_net.as_secs_f64();
        let process_ratio = ours.as_secs_f64() / vips.as_secs_f64();

        let ours_bytes = engine::transform(&original, &spec, &Limits::default())
            .expect("the engine transforms the benchmark image")
            .outputs
            .remove(0)
            .data;
        let ours_image = image::load_from_memory(&ours_bytes).expect("our output decodes");
        let vips_image = image::open(&vips_output).expect("vips' output decodes");
        let reference = reference(&original, ours_image.width(), ours_image.height());
        let reference_encoded = encoded_like(&reference, &spec);
        let psnr_vips = if (vips_image.width(), vips_image.height())
            == (ours_image.width(), ours_image.height())
        {
            format!("{:.2}", psnr(&reference, &vips_image))
        } else {
            format!("n/a ({}x{})", vips_image.width(), vips_image.height())
        };
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {ratio:.2} | {process_ratio:.2} | <= {} | {} | {:.2} | {:.2} | {psnr_vips} |",
            job.name,
            millis(in_process),
            millis(vips_net),
            millis(ours),
            millis(vips),
            job.target,
            if ratio <= job.target { "pass" } else { "FAIL" },
            psnr(&reference, &ours_image),
            psnr(&reference, &reference_encoded),
        );
    }

    if jobs.iter().any(|job| job.id() == "J1") {
        println!();
        let j1 = &JOBS[0];
        let input = corpus.join(j1.image);
        match (
            peak_rss_kib(&ours_command(ours_binary, j1, &input, &out.join("ours"))),
            peak_rss_kib(&vips_command(j1, &input, &out.join("vips")).0),
        ) {
            (Some(ours), Some(vips)) => println!(
                "peak RSS, J1: ours {:.1} MiB, vipsthumbnail {:.1} MiB ({})",
                ours as f64 / 1024.0,
                vips as f64 / 1024.0,
                if ours <= vips { "pass" } else { "FAIL" }
            ),
            _ => println!(
                "peak RSS: skipped (needs GNU time at /usr/bin/time: apt-get install time)"
            ),
        }
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// `imagepipe-transformer convert` for `job`, writing into `out`.
fn ours_command(binary: &str, job: &Job, input: &Path, out: &Path) -> Vec<String> {
    let mut command = vec![
        binary.to_owned(),
        "convert".into(),
        "--width".into(),
        job.width.to_string(),
    ];
    if let Some(height) = job.height {
        command.extend(["--height".into(), height.to_string()]);
    }
    command.extend([
        "--format".into(),
        job.format.name().into(),
        "--quality".into(),
        job.quality.to_string(),
        "--out-dir".into(),
        out.display().to_string(),
        input.display().to_string(),
    ]);
    command
}

/// `vipsthumbnail` for `job`, and the file it writes.
fn vips_command(job: &Job, input: &Path, out: &Path) -> (Vec<String>, PathBuf) {
    std::fs::create_dir_all(out).expect("a scratch directory");
    let extension = if job.format == ImageFormat::Webp {
        "webp"
    } else {
        "jpg"
    };
    let output = out.join(format!("result.{extension}"));
    let size = match job.height {
        Some(height) => format!("{}x{height}", job.width),
        None => format!("{}x", job.width),
    };
    let command = vec![
        "vipsthumbnail".into(),
        input.display().to_string(),
        "--size".into(),
        size,
        "-o".into(),
        format!("{}[Q={},strip]", output.display(), job.quality),
    ];
    (command, output)
}

/// vipsthumbnail's time per image without its start-up: one process over all `copies` (distinct names, so
/// no cache can serve one from another) less one over the first copy, per extra copy; median of 3.
fn vips_per_image(job: &Job, copies: &[PathBuf], out: &Path) -> Duration {
    let command = |inputs: &[PathBuf]| {
        let (mut command, _) = vips_command(job, &inputs[0], out);
        let pattern = command.pop().expect("the output option");
        let extension = if job.format == ImageFormat::Webp {
            "webp"
        } else {
            "jpg"
        };
        command.push(format!(
            "{}/%s.{extension}{}",
            out.display(),
            &pattern[pattern.find('[').unwrap_or(pattern.len())..]
        ));
        command.extend(inputs[1..].iter().map(|path| path.display().to_string()));
        command
    };
    let (batch, single) = (command(copies), command(&copies[..1]));
    let extra = u32::try_from(copies.len() - 1).unwrap_or(u32::MAX);
    let [batch, single] = medians(
        3,
        [&mut || time_command(&batch), &mut || time_command(&single)],
    );
    batch.saturating_sub(single) / extra
}

/// Wall time of one run of `command`, with libvips held to one thread.
fn time_command(command: &[String]) -> Duration {
    let started = Instant::now();
    let status = Command::new(&command[0])
        .args(&command[1..])
        .env("VIPS_CONCURRENCY", "1")
        .stdout(std::process::Stdio::null())
        .status()
        .expect("the command starts");
    let elapsed = started.elapsed();
    assert!(status.success(), "{command:?} failed");
    elapsed
}

/// Peak resident set of one run of `command`, in KiB, measured by GNU time.
fn peak_rss_kib(command: &[String]) -> Option<u64> {
    let output = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .args(command)
        .env("VIPS_CONCURRENCY", "1")
        .stdout(std::process::Stdio::null())
        .output()
        .ok()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr.lines().last()?.trim().parse().ok()
}

/// The median of `runs` measurements of each of `measures`, taken in turn (one warm-up round first).
fn medians<const N: usize>(
    runs: usize,
    mut measures: [&mut dyn FnMut() -> Duration; N],
) -> [Duration; N] {
    let mut times: [Vec<Duration>; N] = std::array::from_fn(|_| Vec::with_capacity(runs));
    for round in 0..=runs {
        for (measure, times) in measures.iter_mut().zip(&mut times) {
            let time = measure();
            if round > 0 {
                times.push(time);
            }
        }
    }
    times.map(|mut times| {
        times.sort();
        times[times.len() / 2]
    })
}

/// `image` encoded by the engine as `spec` asks, without resizing: what a full decode + Lanczos3 path with
/// our encoders would deliver.
fn encoded_like(image: &DynamicImage, spec: &TransformSpec) -> DynamicImage {
    let mut png = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut png, image::ImageFormat::Png)
        .expect("the reference as PNG");
    let same_size = TransformSpec {
        width: None,
        height: None,
        ..spec.clone()
    };
    let output = engine::transform(png.get_ref(), &same_size, &Limits::default())
        .expect("the engine encodes the reference")
        .outputs
        .remove(0);
    image::load_from_memory(&output.data).expect("the encoded reference decodes")
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The quality reference: a full decode (the `image` crate, EXIF orientation applied), Lanczos3 to
/// `width` x `height` with fast_image_resize, not encoded.
fn reference(original: &[u8], width: u32, height: u32) -> DynamicImage {
    let decoded = DynamicImage::ImageRgb8(
        image::load_from_memory(original)
            .expect("the reference decodes")
            .to_rgb8(),
    );
    let mut resized = DynamicImage::new(width, height, decoded.color());
    Resizer::new()
        .resize(
            &decoded,
            &mut resized,
            &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3)),
        )
        .expect("the reference resizes");
    resized
}

/// Peak signal-to-noise ratio of `image` against `reference` (same size), over the RGB channels, in dB.
fn psnr(reference: &DynamicImage, image: &DynamicImage) -> f64 {
    let (reference, image) = (reference.to_rgb8(), image.to_rgb8());
    let squared: f64 = reference
        .as_raw()
        .iter()
        .zip(image.as_raw())
        .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
        .sum();
    let mse = squared / reference.as_raw().len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0 * 255.0 / mse).log10()
    }
}
