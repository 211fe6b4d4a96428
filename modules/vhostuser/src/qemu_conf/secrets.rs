//! The qemu.conf settings that hold secrets: the VNC and SPICE passwords and the UUIDs of the
//! libvirt secrets that decrypt TLS keys. libvirt's stock file names them all alike
//! (`vnc_password`, `spice_password`, `default_tls_x509_secret_uuid`, `vnc_tls_x509_secret_uuid`,
//! `chardev_`, `migrate_`, `backup_`, `nbd_`, `vxhs_tls_x509_secret_uuid`), so the rule is by
//! suffix, which also covers the keys later releases add.

/// Whether `key`'s value is a secret that must never be shown.
#[must_use]
pub fn is_secret_key(key: &str) -> bool {
    key == "password" || key.ends_with("_password") || key.ends_with("_secret_uuid")
}

/// Every value a secret key has in the file, on active lines and on commented-out ones alike
/// (commenting a password out leaves it readable in the file, and so in a diff).
#[must_use]
pub fn secret_values(bytes: &[u8]) -> Vec<String> {
    let mut values = Vec::new();
    for line in bytes.split(|b| *b == b'\n') {
        let text = String::from_utf8_lossy(line);
        let text = text.trim_start().trim_start_matches('#').trim_start();
        let key_len = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(text.len());
        if key_len == 0 || !is_secret_key(&text[..key_len]) {
            continue;
        }
        let Some(rest) = text[key_len..].trim_start().strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim_start();
        let value = if let Some(quote @ ('"' | '\'')) = rest.chars().next() {
            let inner = &rest[1..];
            &inner[..inner.find(quote).unwrap_or(inner.len())]
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '#' || c == ';')
                .unwrap_or(rest.len());
            &rest[..end]
        };
        if !value.is_empty() && !values.iter().any(|v| v == value) {
            values.push(value.to_owned());
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    const STOCK: [&str; 2] = [
        include_str!("../../tests/fixtures/qemu_conf/rhel-libvirt-9.0.0.conf"),
        include_str!("../../tests/fixtures/qemu_conf/debian12-libvirt-9.0.0.conf"),
    ];

    /// Every setting of libvirt's stock file that names a password or a secret is one, and no
    /// other setting is.
    #[test]
    fn the_stock_files_secret_keys() {
        let mut secret = Vec::new();
        for stock in STOCK {
            for line in stock.lines() {
                let text = line.trim_start_matches('#');
                let Some((key, _)) = text.split_once(" = ") else {
                    continue;
                };
                if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                    continue;
                }
                let named = key.contains("password") || key.contains("secret");
                assert_eq!(is_secret_key(key), named, "{key}");
                if named && !secret.contains(&key) {
                    secret.push(key);
                }
            }
        }
        secret.sort_unstable();
        assert_eq!(
            secret,
            [
                "backup_tls_x509_secret_uuid",
                "chardev_tls_x509_secret_uuid",
                "default_tls_x509_secret_uuid",
                "migrate_tls_x509_secret_uuid",
                "nbd_tls_x509_secret_uuid",
                "spice_password",
                "vnc_password",
                "vnc_tls_x509_secret_uuid",
                "vxhs_tls_x509_secret_uuid",
            ]
        );
    }

    #[test]
    fn values_on_active_and_commented_lines() {
        let file = b"vnc_password = \"S3cret-1\"\n#spice_password='old one' # was\n\
                     group = \"hugetlbfs\"\n  nbd_tls_x509_secret_uuid=1234;\nvnc_password = \"S3cret-1\"\n";
        assert_eq!(secret_values(file), ["S3cret-1", "old one", "1234"]);
    }
}
