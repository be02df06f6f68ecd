//! Just enough of the zip format to check a b1 bundle's integrity: Endo writes bundle archives
//! uncompressed (method 0, "stored") and reads nothing else, so neither does this. Sizes and
//! offsets come from the central directory and are bounds-checked against the archive, so a
//! hostile archive can make this fail but never read outside it or allocate by its claims.

use std::collections::BTreeMap;

const END_OF_CENTRAL_DIRECTORY: u32 = 0x0605_4b50;
const CENTRAL_FILE_HEADER: u32 = 0x0201_4b50;
const LOCAL_FILE_HEADER: u32 = 0x0403_4b50;
const STORED: u16 = 0;
/// The end record's fixed part; Endo's archives carry no trailing comment.
const END_RECORD_LEN: usize = 22;

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The files of a stored-only archive, by name, borrowing their bytes from it.
pub fn read_stored(archive: &[u8]) -> Result<BTreeMap<String, &[u8]>, String> {
    let corrupt = |what: &str| format!("Corrupted zip: {what}");
    let end = archive
        .len()
        .checked_sub(END_RECORD_LEN)
        .filter(|&at| u32_at(archive, at) == Some(END_OF_CENTRAL_DIRECTORY))
        .ok_or_else(|| corrupt("no end of central directory record"))?;
    let records = usize::from(u16_at(archive, end + 10).unwrap_or(0));
    let mut at = u32_at(archive, end + 16).unwrap_or(u32::MAX) as usize;
    let mut files = BTreeMap::new();
    for _ in 0..records {
        if u32_at(archive, at) != Some(CENTRAL_FILE_HEADER) {
            return Err(corrupt("central directory record missing"));
        }
        let field16 = |offset: usize| u16_at(archive, at + offset).map(usize::from);
        let (
            Some(method),
            Some(size),
            Some(name_len),
            Some(extra_len),
            Some(comment_len),
            Some(local),
        ) = (
            u16_at(archive, at + 10),
            u32_at(archive, at + 20).map(|n| n as usize),
            field16(28),
            field16(30),
            field16(32),
            u32_at(archive, at + 42).map(|n| n as usize),
        )
        else {
            return Err(corrupt("truncated central directory"));
        };
        if method != STORED {
            return Err(format!("unsupported zip compression method {method}"));
        }
        let name = archive
            .get(at + 46..at + 46 + name_len)
            .ok_or_else(|| corrupt("truncated file name"))?;
        let name = String::from_utf8_lossy(name).into_owned();
        if u32_at(archive, local) != Some(LOCAL_FILE_HEADER) {
            return Err(corrupt("local file header missing"));
        }
        let (Some(local_name_len), Some(local_extra_len)) = (
            u16_at(archive, local + 26).map(usize::from),
            u16_at(archive, local + 28).map(usize::from),
        ) else {
            return Err(corrupt("truncated local file header"));
        };
        let start = local + 30 + local_name_len + local_extra_len;
        let content = archive
            .get(start..start.saturating_add(size))
            .ok_or_else(|| corrupt("not enough content"))?;
        files.insert(name, content);
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::read_stored;

    /// A one-file stored archive, laid out as Endo writes one.
    fn archive(name: &str, content: &[u8]) -> Vec<u8> {
        let mut zip = Vec::new();
        let local = |zip: &mut Vec<u8>| {
            zip.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
            zip.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            zip.extend_from_slice(&(content.len() as u32).to_le_bytes());
            zip.extend_from_slice(&(content.len() as u32).to_le_bytes());
            zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
            zip.extend_from_slice(&0u16.to_le_bytes());
            zip.extend_from_slice(name.as_bytes());
            zip.extend_from_slice(content);
        };
        local(&mut zip);
        let central = zip.len();
        zip.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        zip.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        zip.extend_from_slice(&(content.len() as u32).to_le_bytes());
        zip.extend_from_slice(&(content.len() as u32).to_le_bytes());
        zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
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
}
