//! The batch compression codecs of the order intake: one type for the CRD (schema and serde)
//! and the producer (its `--compression` flag), so the CRD cannot offer a value the producer
//! refuses — which would crash-loop its pods.

use serde::{Deserialize, Serialize};

/// Compression codecs the producer offers — exactly those: a value it refused would crash-loop
/// its pods. (No zstd: the producer's librdkafka is built without it; a test of the producer's
/// command line checks every value offered here.)
#[derive(
    schemars::JsonSchema,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Snappy,
    #[default]
    Lz4,
}

impl Compression {
    /// librdkafka's name for the codec (`compression.type`), also the flag's and the env's
    /// value.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn the_flag_the_json_and_librdkafka_spell_every_codec_alike() {
        for codec in Compression::value_variants() {
            let flag = codec.to_possible_value().expect("a flag value");
            let json = serde_json::to_value(codec).expect("JSON");
            assert_eq!(flag.get_name(), codec.as_str());
            assert_eq!(json, codec.as_str());
        }
    }
}
