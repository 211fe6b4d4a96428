//! The sidecar docs must describe exactly the options the binary accepts.

#[test]
fn sidecar_documents_the_spec() {
    let sidecar = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../plugins/modules/vhostuser_domain.yml"
    );
    let differences =
        ansible_module::sidecar::differences(&vhostuser_domain::SPEC, sidecar.as_ref());
    assert_eq!(
        differences,
        Ok(vec![]),
        "{sidecar} differs from vhostuser_domain::SPEC"
    );
}
