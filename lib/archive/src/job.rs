//! The `jobs` document and the GridFS files of one archive: their shape, and how an [`ImageArchive`] maps onto
//! them (the ids come from [`crate::layout`]).

use std::collections::HashSet;

use imagepipe_proto::{
    options::colour_name,
    v1::{
        Fit, Flip, Gravity, ImageArchive, ImageFormat, ImageInfo, JobStatus, TransformSpec,
        Variant, Watermark, watermark::Mark,
    },
};
use mongodb::bson::{self, Document, doc};
use serde::{Deserialize, Serialize};

use crate::{
    StoreError,
    layout::{original_id, output_id},
};

/// One job, as stored in the `jobs` collection (one document per job, `_id` = the job id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobDocument {
    /// The job id.
    #[serde(rename = "_id")]
    pub id: String,
    /// The trace id that follows the job through every service.
    pub trace_id: String,
    /// `done` or `failed` (the API names of [`JobStatus`]).
    pub status: String,
    /// What the client asked for (with variants: the options they started from).
    pub spec: SpecDocument,
    /// The named outputs asked for, presets resolved; empty for a job with one `default` output.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<VariantDocument>,
    /// The client's file name, if it sent one.
    pub filename: Option<String>,
    /// The stored original (absent only if the archive carried no bytes).
    pub original: Option<StoredFile>,
    /// The stored outputs, in the archive's order; empty for a failed job.
    pub outputs: Vec<StoredFile>,
    /// Why the job failed.
    pub error: Option<JobError>,
    /// When a gateway accepted the job.
    pub submitted_at: bson::DateTime,
    /// When a transformer started it.
    pub started_at: bson::DateTime,
    /// When the transformer finished it.
    pub finished_at: bson::DateTime,
    /// When save2db (last) wrote this document.
    pub stored_at: bson::DateTime,
    /// Instance id of the gateway replica that accepted the job.
    pub accepted_by: String,
    /// Instance id of the transformer replica that processed it.
    pub processed_by: String,
    /// The owner whose API key submitted the job; absent when the gateway ran open (no API keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

impl JobDocument {
    /// The job's status, parsed.
    #[must_use]
    pub fn job_status(&self) -> JobStatus {
        JobStatus::from_name(&self.status).unwrap_or(JobStatus::Unspecified)
    }

    /// The stored output called `name`.
    #[must_use]
    pub fn output(&self, name: &str) -> Option<&StoredFile> {
        self.outputs.iter().find(|output| output.name == name)
    }
}

/// The options a job ran with, in API names. Options left at their default are left out.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SpecDocument {
    /// Requested width in pixels.
    pub width: Option<u32>,
    /// Requested height in pixels.
    pub height: Option<u32>,
    /// `contain`, `cover`, `fill` or `inside`.
    pub fit: String,
    /// Requested output format (`jpeg`, `png`, `webp`); absent: the input's where writable, else JPEG.
    pub format: Option<String>,
    /// Requested encoder quality.
    pub quality: Option<u32>,
    /// Which part a `cover` crop keeps (`north`, `south-east`, …); absent: the centre.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gravity: Option<String>,
    /// Clockwise rotation in degrees.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rotate: u32,
    /// `horizontal`, `vertical` or `both`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flip: Option<String>,
    /// Converted to grey.
    #[serde(default, skip_serializing_if = "is_false")]
    pub grayscale: bool,
    /// Blur sigma in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blur: Option<f32>,
    /// Sharpen sigma in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharpen: Option<f32>,
    /// Background for flattening alpha into JPEG, `rrggbb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background: Option<String>,
    /// Progressive JPEG.
    #[serde(default, skip_serializing_if = "is_false")]
    pub progressive: bool,
    /// Lossless WebP.
    #[serde(default, skip_serializing_if = "is_false")]
    pub lossless: bool,
    /// The watermark drawn over the result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark: Option<WatermarkDocument>,
}

/// A watermark as stored: its text, or the size of its image (the image itself is not kept).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WatermarkDocument {
    /// The text drawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The size in bytes of the image drawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_bytes: Option<u64>,
    /// Where (`south-east`, …).
    pub position: String,
    /// 0-1, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opacity: Option<f32>,
    /// Pixels from the edges, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<u32>,
    /// Size relative to the result, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<f32>,
    /// Text colour `rrggbb`, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

/// One named output asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VariantDocument {
    /// The output's name (also its [`StoredFile::name`]).
    pub name: String,
    /// What it was made with.
    pub spec: SpecDocument,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference.
fn is_zero(value: &u32) -> bool {
    *value == 0
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference.
fn is_false(value: &bool) -> bool {
    !*value
}

/// One file of a job in the GridFS bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    /// `original`, or the output's name (`default` for a plain resize).
    pub name: String,
    /// The GridFS id (`{job_id}/original` or `{job_id}/output/{name}`), for [`crate::ArchiveStore::read_file`].
    pub gridfs_id: String,
    /// MIME type, e.g. `image/png`.
    pub content_type: String,
    /// Format name, e.g. `png`.
    pub format: String,
    /// Width in pixels (0 when unknown).
    pub width: u32,
    /// Height in pixels (0 when unknown).
    pub height: u32,
    /// Size in bytes.
    pub bytes: u64,
}

/// Why a job failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobError {
    /// Stable machine-readable reason, e.g. `decode_failed`.
    pub code: String,
    /// Human-readable reason.
    pub message: String,
}

/// A file to be written to GridFS for an archive.
#[derive(Debug)]
pub(crate) struct PlannedFile<'a> {
    /// Deterministic GridFS id.
    pub gridfs_id: String,
    /// GridFS `filename`.
    pub filename: String,
    /// GridFS `metadata`.
    pub metadata: Document,
    /// The bytes.
    pub data: &'a [u8],
}

/// Maps `archive` to its job document (stamped `stored_at`) and the files to store, original first.
///
/// # Errors
/// [`StoreError::InvalidArchive`] for an archive without a job id, of a job that has not ended, or with missing,
/// clashing or unsafe output names.
pub(crate) fn plan(
    archive: &ImageArchive,
    stored_at: bson::DateTime,
) -> Result<(JobDocument, Vec<PlannedFile<'_>>), StoreError> {
    let job_id = archive.job_id.as_str();
    if job_id.is_empty() || job_id.contains('/') {
        return Err(StoreError::InvalidArchive(format!(
            "job id `{job_id}` is empty or contains `/`"
        )));
    }
    let status = JobStatus::try_from(archive.status).unwrap_or(JobStatus::Unspecified);
    if !status.is_final() {
        return Err(StoreError::InvalidArchive(format!(
            "job {job_id} has status `{}`, not done or failed",
            status.name()
        )));
    }
    let filename = Some(archive.filename.clone()).filter(|name| !name.is_empty());

    let mut files = Vec::with_capacity(1 + archive.outputs.len());
    let original = (!archive.original.is_empty()).then(|| {
        let stored = stored_file(
            "original",
            original_id(job_id),
            archive.original_info.as_ref(),
            archive.original.len(),
        );
        let gridfs_filename = filename.clone().unwrap_or_else(|| stored.gridfs_id.clone());
        files.push(planned(
            job_id,
            "original",
            &stored,
            gridfs_filename,
            &archive.original,
        ));
        stored
    });

    let mut names = HashSet::new();
    let mut outputs = Vec::with_capacity(archive.outputs.len());
    for output in &archive.outputs {
        let name = output.name.as_str();
        if name.is_empty() || name.contains('/') || !names.insert(name) {
            return Err(StoreError::InvalidArchive(format!(
                "job {job_id} has an empty, repeated or unsafe output name `{name}`"
            )));
        }
        let stored = stored_file(
            name,
            output_id(job_id, name),
            output.info.as_ref(),
            output.data.len(),
        );
        let gridfs_filename = stored.gridfs_id.clone();
        files.push(planned(
            job_id,
            "output",
            &stored,
            gridfs_filename,
            &output.data,
        ));
        outputs.push(stored);
    }

    let error = (status == JobStatus::Failed).then(|| JobError {
        code: if archive.error_code.is_empty() {
            "failed".to_owned()
        } else {
            archive.error_code.clone()
        },
        message: archive.error.clone(),
    });

    let document = JobDocument {
        id: job_id.to_owned(),
        trace_id: archive.trace_id.clone(),
        status: status.name().to_owned(),
        spec: spec_document(archive.spec.as_ref()),
        variants: archive.variants.iter().map(variant_document).collect(),
        filename,
        original,
        outputs,
        error,
        submitted_at: bson::DateTime::from_millis(archive.submitted_at_ms),
        started_at: bson::DateTime::from_millis(archive.started_at_ms),
        finished_at: bson::DateTime::from_millis(archive.finished_at_ms),
        stored_at,
        accepted_by: archive.accepted_by.clone(),
        processed_by: archive.processed_by.clone(),
        owner: Some(archive.owner.clone()).filter(|owner| !owner.is_empty()),
    };
    Ok((document, files))
}

fn spec_document(spec: Option<&TransformSpec>) -> SpecDocument {
    let default = TransformSpec::default();
    let spec = spec.unwrap_or(&default);
    let format = ImageFormat::try_from(spec.format).unwrap_or(ImageFormat::Unspecified);
    let gravity = Gravity::try_from(spec.gravity).unwrap_or(Gravity::Unspecified);
    let flip = Flip::try_from(spec.flip).unwrap_or(Flip::Unspecified);
    SpecDocument {
        width: spec.width,
        height: spec.height,
        fit: Fit::try_from(spec.fit)
            .unwrap_or(Fit::Unspecified)
            .name()
            .to_owned(),
        format: (format != ImageFormat::Unspecified).then(|| format.name().to_owned()),
        quality: spec.quality,
        gravity: (gravity != Gravity::Unspecified).then(|| gravity.name().to_owned()),
        rotate: spec.rotate,
        flip: (flip != Flip::Unspecified).then(|| flip.name().to_owned()),
        grayscale: spec.grayscale,
        blur: spec.blur,
        sharpen: spec.sharpen,
        background: spec.background.map(colour_name),
        progressive: spec.progressive,
        lossless: spec.lossless,
        watermark: spec.watermark.as_ref().map(watermark_document),
    }
}

fn watermark_document(watermark: &Watermark) -> WatermarkDocument {
    let (text, image_bytes) = match &watermark.mark {
        Some(Mark::Text(text)) => (Some(text.clone()), None),
        Some(Mark::Image(image)) => (None, Some(image.len() as u64)),
        None => (None, None),
    };
    let position = match Gravity::try_from(watermark.position) {
        Ok(Gravity::Unspecified) | Err(_) => Gravity::SouthEast,
        Ok(gravity) => gravity,
    };
    WatermarkDocument {
        text,
        image_bytes,
        position: position.name().to_owned(),
        opacity: watermark.opacity,
        margin: watermark.margin,
        scale: watermark.scale,
        color: watermark.color.map(colour_name),
    }
}

fn variant_document(variant: &Variant) -> VariantDocument {
    VariantDocument {
        name: variant.name.clone(),
        spec: spec_document(variant.spec.as_ref()),
    }
}

fn stored_file(name: &str, gridfs_id: String, info: Option<&ImageInfo>, len: usize) -> StoredFile {
    let info = info.cloned().unwrap_or_default();
    let format = ImageFormat::try_from(info.format).unwrap_or(ImageFormat::Unspecified);
    StoredFile {
        name: name.to_owned(),
        gridfs_id,
        content_type: format.mime_type().to_owned(),
        format: format.name().to_owned(),
        width: info.width,
        height: info.height,
        bytes: len as u64,
    }
}

fn planned<'a>(
    job_id: &str,
    role: &str,
    file: &StoredFile,
    filename: String,
    data: &'a [u8],
) -> PlannedFile<'a> {
    PlannedFile {
        gridfs_id: file.gridfs_id.clone(),
        filename,
        metadata: doc! {
            "job_id": job_id,
            "role": role,
            "name": &file.name,
            "content_type": &file.content_type,
            "width": i64::from(file.width),
            "height": i64::from(file.height),
        },
        data,
    }
}

#[cfg(test)]
mod tests {
    use imagepipe_proto::v1::Output;

    use super::*;

    fn info(format: ImageFormat, width: u32, height: u32, bytes: u64) -> Option<ImageInfo> {
        Some(ImageInfo {
            format: format as i32,
            width,
            height,
            bytes,
        })
    }

    #[test]
    fn records_every_option_and_the_variants() {
        let spec = TransformSpec {
            width: Some(100),
            fit: Fit::Inside as i32,
            gravity: Gravity::NorthEast as i32,
            rotate: 90,
            flip: Flip::Both as i32,
            grayscale: true,
            blur: Some(1.5),
            background: Some(0x00_80ff),
            progressive: true,
            watermark: Some(Watermark {
                mark: Some(Mark::Image(vec![0; 42].into())),
                opacity: Some(0.25),
                ..Watermark::default()
            }),
            ..TransformSpec::default()
        };
        let archive = ImageArchive {
            variants: vec![Variant {
                name: "thumb".into(),
                spec: Some(spec.clone()),
            }],
            spec: Some(spec),
            ..done_archive()
        };
        let (document, _) = plan(&archive, bson::DateTime::now()).unwrap();
        let expected = SpecDocument {
            width: Some(100),
            height: None,
            fit: "inside".into(),
            format: None,
            quality: None,
            gravity: Some("north-east".into()),
            rotate: 90,
            flip: Some("both".into()),
            grayscale: true,
            blur: Some(1.5),
            sharpen: None,
            background: Some("0080ff".into()),
            progressive: true,
            lossless: false,
            watermark: Some(WatermarkDocument {
                text: None,
                image_bytes: Some(42),
                position: "south-east".into(),
                opacity: Some(0.25),
                ..WatermarkDocument::default()
            }),
        };
        assert_eq!(document.spec, expected);
        assert_eq!(
            document.variants,
            [VariantDocument {
                name: "thumb".into(),
                spec: expected,
            }]
        );
        // Round trip through BSON, and an old document without the new fields still reads.
        let bson = bson::to_document(&document).unwrap();
        assert!(
            !bson.get_document("spec").unwrap().contains_key("lossless"),
            "defaults left out"
        );
        let read: JobDocument = bson::from_document(bson).unwrap();
        assert_eq!(read, document);
    }

    fn done_archive() -> ImageArchive {
        ImageArchive {
            job_id: "job-1".into(),
            trace_id: "trace-1".into(),
            status: JobStatus::Done as i32,
            spec: Some(TransformSpec {
                width: Some(320),
                height: None,
                fit: Fit::Cover as i32,
                format: ImageFormat::Webp as i32,
                quality: Some(80),
                ..TransformSpec::default()
            }),
            original: vec![1u8; 10].into(),
            original_info: info(ImageFormat::Png, 640, 480, 10),
            outputs: vec![Output {
                name: "default".into(),
                data: vec![2u8; 4].into(),
                info: info(ImageFormat::Webp, 320, 240, 4),
            }],
            submitted_at_ms: 1_700_000_000_000,
            started_at_ms: 1_700_000_000_100,
            finished_at_ms: 1_700_000_000_200,
            accepted_by: "gw-1".into(),
            processed_by: "tf-1".into(),
            filename: "cat.png".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_done_archive_maps_to_its_document_and_files() {
        let archive = done_archive();
        let stored_at = bson::DateTime::from_millis(1_700_000_001_000);
        let (document, files) = plan(&archive, stored_at).unwrap();
        assert_eq!(document.id, "job-1");
        assert_eq!(document.status, "done");
        assert_eq!(document.job_status(), JobStatus::Done);
        assert_eq!(
            document.spec,
            SpecDocument {
                width: Some(320),
                height: None,
                fit: "cover".into(),
                format: Some("webp".into()),
                quality: Some(80),
                ..SpecDocument::default()
            }
        );
        assert_eq!(document.filename.as_deref(), Some("cat.png"));
        let original = document.original.as_ref().unwrap();
        assert_eq!(original.gridfs_id, "job-1/original");
        assert_eq!(original.content_type, "image/png");
        assert_eq!(
            (original.width, original.height, original.bytes),
            (640, 480, 10)
        );
        let output = document.output("default").unwrap();
        assert_eq!(output.gridfs_id, "job-1/output/default");
        assert_eq!(output.format, "webp");
        assert_eq!(document.error, None);
        assert_eq!(document.submitted_at.timestamp_millis(), 1_700_000_000_000);
        assert_eq!(document.stored_at, stored_at);

        assert_eq!(files.len(), 2);
        assert_eq!(files[0].filename, "cat.png");
        assert_eq!(files[0].metadata.get_str("role").unwrap(), "original");
        assert_eq!(files[0].data, &[1u8; 10]);
        assert_eq!(files[1].filename, "job-1/output/default");
        assert_eq!(files[1].metadata.get_str("name").unwrap(), "default");
        assert_eq!(files[1].metadata.get_i64("width").unwrap(), 320);
    }

    #[test]
    fn the_owner_is_recorded_only_when_there_is_one() {
        let (open, _) = plan(&done_archive(), bson::DateTime::now()).unwrap();
        assert_eq!(open.owner, None);
        assert!(
            !bson::to_document(&open).unwrap().contains_key("owner"),
            "an open gateway's job has no owner field"
        );
        let owned = ImageArchive {
            owner: "alice".into(),
            ..done_archive()
        };
        let (document, _) = plan(&owned, bson::DateTime::now()).unwrap();
        assert_eq!(document.owner.as_deref(), Some("alice"));
        let encoded = bson::to_document(&document).unwrap();
        assert_eq!(encoded.get_str("owner").unwrap(), "alice");
        let decoded: JobDocument = bson::from_document(encoded).unwrap();
        assert_eq!(decoded, document);
    }

    #[test]
    fn the_document_round_trips_through_bson() {
        let (document, _) = plan(&done_archive(), bson::DateTime::now()).unwrap();
        let encoded = bson::to_document(&document).unwrap();
        assert_eq!(encoded.get_str("_id").unwrap(), "job-1");
        assert!(encoded.get_datetime("finished_at").is_ok());
        let decoded: JobDocument = bson::from_document(encoded).unwrap();
        assert_eq!(decoded, document);
    }

    #[test]
    fn a_failed_archive_keeps_its_reason_and_original() {
        let archive = ImageArchive {
            status: JobStatus::Failed as i32,
            error_code: "decode_failed".into(),
            error: "not an image".into(),
            outputs: vec![],
            filename: String::new(),
            spec: None,
            ..done_archive()
        };
        let (document, files) = plan(&archive, bson::DateTime::now()).unwrap();
        assert_eq!(document.status, "failed");
        assert_eq!(
            document.error,
            Some(JobError {
                code: "decode_failed".into(),
                message: "not an image".into()
            })
        );
        assert!(document.outputs.is_empty());
        assert_eq!(document.spec.fit, "contain");
        assert_eq!(document.spec.format, None);
        assert_eq!(files.len(), 1);
        assert_eq!(
            files[0].filename, "job-1/original",
            "no client name: the id"
        );
    }

    #[test]
    fn rejects_what_cannot_be_stored() {
        let cases = [
            ImageArchive {
                job_id: String::new(),
                ..done_archive()
            },
            ImageArchive {
                job_id: "a/b".into(),
                ..done_archive()
            },
            ImageArchive {
                status: JobStatus::Processing as i32,
                ..done_archive()
            },
            ImageArchive {
                outputs: vec![done_archive().outputs[0].clone(); 2],
                ..done_archive()
            },
        ];
        for archive in cases {
            let error = plan(&archive, bson::DateTime::now()).unwrap_err();
            assert!(matches!(error, StoreError::InvalidArchive(_)), "{error}");
            assert!(!error.is_transient());
        }
    }
}
