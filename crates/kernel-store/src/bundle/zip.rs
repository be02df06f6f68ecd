//! Just enough of the zip format to check a b1 bundle's integrity as Endo checks it before it
//! will load one: Endo writes bundle archives uncompressed (method 0, "stored"), with no
//! archive comment and no Zip64, and reads nothing else. Every file's local header must agree
//! with its central directory record (name, flags, method, CRC-32, sizes) and its bytes must
//! have that CRC-32, so an archive whose bytes were altered anywhere Endo looks is refused
//! here too, rather than stored for a kernel that could never load it.
//!
//! Sizes and offsets come from the archive and are bounds-checked against it, so a hostile
//! archive can make this fail but never read outside it or allocate by its claims.

use std::collections::BTreeMap;

const END_OF_CENTRAL_DIRECTORY: u32 = 0x0605_4b50;
const CENTRAL_FILE_HEADER: u32 = 0x0201_4b50;
const LOCAL_FILE_HEADER: u32 = 0x0403_4b50;
const STORED: u16 = 0;
/// The end record's fixed part; Endo forbids a trailing comment, so it is the last 22 bytes.
const END_RECORD_LEN: usize = 22;
const MAX_16: u16 = u16::MAX;
const MAX_32: u32 = u32::MAX;

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The header fields a local record repeats from its central record.
#[derive(PartialEq, Eq)]
struct Headers {
    flags: u16,
    method: u16,
    crc32: u32,
    compressed: u32,
    uncompressed: u32,
}

/// The headers that start at `at` (after the version fields), or `None` past the end.
fn headers(archive: &[u8], at: usize) -> Option<Headers> {
    Some(Headers {
        flags: u16_at(archive, at)?,
        method: u16_at(archive, at + 2)?,
        crc32: u32_at(archive, at + 8)?,
        compressed: u32_at(archive, at + 12)?,
        uncompressed: u32_at(archive, at + 16)?,
    })
}

/// The files of a stored-only archive, by name, borrowing their bytes from it; `Err` says
/// what is wrong.
pub fn read_stored(archive: &[u8]) -> Result<BTreeMap<String, &[u8]>, String> {
    let corrupt = |what: &str| format!("Corrupted zip: {what}");
    let end = archive
        .len()
        .checked_sub(END_RECORD_LEN)
        .filter(|&at| u32_at(archive, at) == Some(END_OF_CENTRAL_DIRECTORY))
        .ok_or_else(|| corrupt("no end of central directory record where it must be"))?;
    let field16 = |offset| u16_at(archive, end + offset).unwrap_or(MAX_16);
    let field32 = |offset| u32_at(archive, end + offset).unwrap_or(MAX_32);
    if field16(20) != 0 {
        return Err(corrupt(
            "the end of central directory record claims a comment",
        ));
    }
    let (records, size, offset) = (field16(10), field32(12), field32(16));
    if [field16(4), field16(6), field16(8), records].contains(&MAX_16)
        || [size, offset].contains(&MAX_32)
    {
        return Err("Cannot read Zip64".into());
    }
    // Bytes before the archive proper (a prepended stub) shift every offset, as Endo allows.
    let shift = end
        .checked_sub(offset as usize + size as usize)
        .ok_or_else(|| corrupt("central directory runs past its end record"))?;
    let mut at = offset as usize + shift;
    let mut files = BTreeMap::new();
    while u32_at(archive, at) == Some(CENTRAL_FILE_HEADER) && at < end {
        let (Some(central), Some(name_len), Some(extra_len), Some(comment_len), Some(local)) = (
            headers(archive, at + 8),
            u16_at(archive, at + 28).map(usize::from),
            u16_at(archive, at + 30).map(usize::from),
            u16_at(archive, at + 32).map(usize::from),
            u32_at(archive, at + 42),
        ) else {
            return Err(corrupt("truncated central directory record"));
        };
        if [central.compressed, central.uncompressed, local].contains(&MAX_32) {
            return Err("Cannot read Zip64".into());
        }
        let central_name = archive
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(|| corrupt("truncated file name"))?;
        let central_name = String::from_utf8_lossy(central_name).replace('\\', "/");
        let (name, content) = local_file(archive, local as usize + shift, &central, &central_name)?;
        files.insert(name, content);
        at += 46 + name_len + extra_len + comment_len;
    }
    if files.len() != usize::from(records) {
        return Err(format!(
            "Corrupted zip or bug: expected {records} records in central dir, got {}",
            files.len()
        ));
    }
    Ok(files)
}

/// The local record at `at`, checked against its central record.
fn local_file<'a>(
    archive: &'a [u8],
    at: usize,
    central: &Headers,
    central_name: &str,
) -> Result<(String, &'a [u8]), String> {
    let corrupt = |what: &str| format!("Corrupted zip: {what}");
    if u32_at(archive, at) != Some(LOCAL_FILE_HEADER) {
        return Err(corrupt("local file header missing"));
    }
    let (Some(local), Some(name_len), Some(extra_len)) = (
        headers(archive, at + 6),
        u16_at(archive, at + 26).map(usize::from),
        u16_at(archive, at + 28).map(usize::from),
    ) else {
        return Err(corrupt("truncated local file header"));
    };
    let name = archive
        .get(at + 30..at + 30 + name_len)
        .ok_or_else(|| corrupt("truncated file name"))?;
    let name = String::from_utf8_lossy(name).into_owned();
    if name != central_name {
        return Err(format!(
            "Zip integrity error: central record file name {central_name:?} must match local file name {name:?}"
        ));
    }
    let integrity = |what: String| Err(format!("Zip integrity error: {what} for file {name:?}"));
    if &local != central {
        return integrity(
            "central record headers (flags, method, CRC-32, sizes) must match the local record's"
                .into(),
        );
    }
    if local.method != STORED {
        return Err(format!(
            "Cannot find decompressor for compression method {} for file {name}",
            local.method
        ));
    }
    let start = at + 30 + name_len + extra_len;
    let content = archive
        .get(start..start.saturating_add(local.compressed as usize))
        .ok_or_else(|| corrupt("not enough content"))?;
    let mut crc = flate2::Crc::new();
    crc.update(content);
    if crc.sum() != local.crc32 {
        return integrity(format!(
            "CRC-32 checksum mismatch, wanted {} but actual content is {}",
            local.crc32,
            crc.sum()
        ));
    }
    Ok((name, content))
}

#[cfg(test)]
mod tests {
    use super::read_stored;

    /// A one-file stored archive, laid out as Endo writes one.
    fn archive(name: &str, content: &[u8]) -> Vec<u8> {
        let mut crc = flate2::Crc::new();
        crc.update(content);
        let sizes_and_crc = |zip: &mut Vec<u8>| {
            zip.extend_from_slice(&crc.sum().to_le_bytes());
            zip.extend_from_slice(&(content.len() as u32).to_le_bytes());
            zip.extend_from_slice(&(content.len() as u32).to_le_bytes());
            zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
        };
        let mut zip = Vec::new();
        zip.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        zip.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        sizes_and_crc(&mut zip);
        zip.extend_from_slice(&0u16.to_le_bytes());
        zip.extend_from_slice(name.as_bytes());
        zip.extend_from_slice(content);
        let central = zip.len();
        zip.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        zip.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        sizes_and_crc(&mut zip);
        zip.extend_from_slice(&[0; 12]);
        zip.extend_from_slice(&0u32.to_le_bytes());
        zip.extend_from_slice(name.as_bytes());
        let size = zip.len() - central;
        zip.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        zip.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
        zip.extend_from_slice(&(size as u32).to_le_bytes());
        zip.extend_from_slice(&(central as u32).to_le_bytes());
        zip.extend_from_slice(&0u16.to_le_bytes());
        zip
    }

    #[test]
    fn reads_a_stored_file() {
        let zip = archive("a/b.js", b"export {};");
        let files = read_stored(&zip).unwrap();
        assert_eq!(files.get("a/b.js").copied(), Some(&b"export {};"[..]));
    }

    #[test]
    fn a_truncated_archive_is_refused_without_reading_past_it() {
        let zip = archive("a.js", b"0123456789");
        for cut in [0, 10, zip.len() - 30, zip.len() - 1] {
            assert!(read_stored(&zip[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn a_byte_changed_anywhere_endo_checks_is_refused() {
        let zip = archive("a.js", b"0123456789");
        // Local flags, method, CRC, sizes, name and content; central offsets and counts.
        let checked = (6..30).chain(30..44).chain(zip.len() - 12..zip.len());
        for at in checked.filter(|at| !(10..14).contains(at)) {
            let mut altered = zip.clone();
            altered[at] ^= 0x01;
            assert!(read_stored(&altered).is_err(), "byte {at} altered");
        }
    }
}
