//! Compiles `proto/*.proto` with protox (pure Rust, no system `protoc`) and prost-build.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = ["proto/imagepipe/v1/messages.proto"];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let descriptors = protox::compile(files, ["proto"])?;
    prost_build::Config::new()
        // Image payloads decode as `Bytes` slices of the delivery buffer instead of fresh copies.
        .bytes(["."])
        .compile_fds(descriptors)?;
    Ok(())
}
