//! Named variants the operator defines once (`--presets` / `TRANSFORMER_PRESETS`), so clients can ask for
//! `variants=thumb,medium` without spelling out sizes. A job's variant without a spec names a preset; the worker
//! resolves it here before the engine runs, and the archive records the spec that was used.

use std::collections::BTreeMap;

use imagepipe_proto::{
    options,
    v1::{Fit, TransformSpec, Variant},
};

use imagepipe_engine::EngineError;

/// The presets when none are configured: four sizes, each fitted inside its box and never enlarged.
pub const DEFAULT_PRESETS: &str = "thumb:256x256,small:640x640,medium:1280x1280,large:2048x2048";

/// The operator's named specs.
#[derive(Debug, Clone, PartialEq)]
pub struct Presets {
    specs: BTreeMap<String, TransformSpec>,
}

impl Default for Presets {
    fn default() -> Self {
        Self::parse(DEFAULT_PRESETS).unwrap_or_else(|_| Self {
            specs: BTreeMap::new(),
        })
    }
}

impl Presets {
    /// Parses a preset list in the variants syntax (compact `name:WxH[.format]` items or a JSON list; see
    /// [`imagepipe_proto::options`]). Compact presets fit `inside` their box (never enlarging); a JSON preset
    /// may say otherwise with its own `fit`. An empty text defines no presets.
    ///
    /// # Errors
    /// A message saying which preset is wrong; a preset must spell out its spec (a bare name means nothing).
    pub fn parse(text: &str) -> Result<Self, String> {
        let base = TransformSpec {
            fit: Fit::Inside as i32,
            ..TransformSpec::default()
        };
        let variants = options::parse_variants(text, &base).map_err(|error| error.0)?;
        let mut specs = BTreeMap::new();
        for variant in variants {
            let spec = variant.spec.ok_or_else(|| {
                format!(
                    "preset `{}` has no size or format; write it as {}:256x256",
                    variant.name, variant.name
                )
            })?;
            specs.insert(variant.name, spec);
        }
        Ok(Self { specs })
    }

    /// The preset names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.specs.keys().map(String::as_str)
    }

    /// `variants` with every spec-less variant given its preset's spec.
    ///
    /// # Errors
    /// [`EngineError::InvalidSpec`] naming an unknown preset and the known ones.
    pub fn resolve(&self, variants: &[Variant]) -> Result<Vec<Variant>, EngineError> {
        variants
            .iter()
            .map(|variant| match &variant.spec {
                Some(_) => Ok(variant.clone()),
                None => match self.specs.get(&variant.name) {
                    Some(spec) => Ok(Variant {
                        name: variant.name.clone(),
                        spec: Some(spec.clone()),
                    }),
                    None => Err(EngineError::InvalidSpec(format!(
                        "no preset `{}`; the presets are: {}",
                        variant.name,
                        self.names().collect::<Vec<_>>().join(", ")
                    ))),
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use imagepipe_proto::v1::ImageFormat;

    use super::*;

    fn preset(name: &str) -> Variant {
        Variant {
            name: name.to_owned(),
            spec: None,
        }
    }

    #[test]
    fn the_defaults_are_four_sizes_inside_their_box() {
        let presets = Presets::default();
        assert_eq!(
            presets.names().collect::<Vec<_>>(),
            ["large", "medium", "small", "thumb"]
        );
        let resolved = presets.resolve(&[preset("thumb")]).unwrap();
        let spec = resolved[0].spec.clone().unwrap();
        assert_eq!(
            (spec.width, spec.height, spec.fit()),
            (Some(256), Some(256), Fit::Inside)
        );
    }

    #[test]
    fn resolves_presets_and_keeps_explicit_specs() {
        let presets = Presets::parse(
            r#"[{"name": "card", "width": 600, "height": 400, "fit": "cover", "format": "webp"}]"#,
        )
        .unwrap();
        let explicit = Variant {
            name: "mine".into(),
            spec: Some(TransformSpec {
                width: Some(10),
                ..TransformSpec::default()
            }),
        };
        let resolved = presets
            .resolve(&[preset("card"), explicit.clone()])
            .unwrap();
        let card = resolved[0].spec.clone().unwrap();
        assert_eq!(
            (card.width, card.fit(), card.format()),
            (Some(600), Fit::Cover, ImageFormat::Webp)
        );
        assert_eq!(resolved[1], explicit);
    }

    #[test]
    fn unknown_presets_and_bare_definitions_are_errors() {
        let error = Presets::default().resolve(&[preset("huge")]).unwrap_err();
        assert_eq!(error.code(), "invalid_spec");
        assert!(error.to_string().contains("no preset `huge`"), "{error}");
        assert!(error.to_string().contains("thumb"), "{error}");
        assert!(Presets::parse("thumb").unwrap_err().contains("no size"));
        assert!(Presets::parse("a:0x1").is_err());
        assert_eq!(Presets::parse("").unwrap().names().count(), 0);
    }
}
