"""Writes the small seed inputs for the fuzz targets from the project's real files.

Run from fuzz/: /path/to/python make_seeds.py ../../shared/data
Small seeds fuzz faster: each is a crop of a real scan, kept under 64 KiB.
"""
import gzip
import io
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom

data = Path(sys.argv[1])
out = Path("seeds")
(out / "nifti").mkdir(parents=True, exist_ok=True)
(out / "dicom").mkdir(parents=True, exist_ok=True)


def save_nifti(img, name, gz):
    raw = img.to_bytes()
    if gz:
        raw = gzip.compress(raw, mtime=0)
    (out / "nifti" / name).write_bytes(raw)


lidc = nib.load(data / "fixtures/lidc_chest_2slices_hu.nii.gz")
a = np.asanyarray(lidc.dataobj)[200:248, 200:248, :]
img = nib.Nifti1Image(a.astype(np.int16), lidc.affine, lidc.header)
save_nifti(img, "lidc_48x48x2_int16.nii.gz", True)
save_nifti(img, "lidc_48x48x2_int16.nii", False)
img32 = nib.Nifti1Image(a.astype(np.float32), lidc.affine)
save_nifti(img32, "lidc_48x48x2_float32.nii.gz", True)

abd = nib.load(data / "fixtures/totalseg_abdomen_3mm_hu.nii.gz")
b = np.asanyarray(abd.dataobj)
sx, sy, sz = b.shape
b = b[sx // 2 - 20 : sx // 2 + 20, sy // 2 - 20 : sy // 2 + 20, sz - 8 :]
save_nifti(nib.Nifti1Image(b.astype(np.int16), abd.affine, abd.header), "abdomen_40x40x8_int16.nii.gz", True)

med = nib.load(data / "medseg/train/image.nii.gz")
m = np.asanyarray(med.dataobj)
m = m[200:232, 200:232, :2]
save_nifti(nib.Nifti1Image(m.astype(np.uint8), med.affine), "medseg_32x32x2_uint8.nii.gz", True)

for name, crop in [
    ("lidc_chest_slice0.dcm", 48),
    ("lidc_chest_slice1.dcm", 48),
    ("pydicom_CT_small.dcm", 32),
]:
    ds = pydicom.dcmread(data / "fixtures" / name)
    arr = ds.pixel_array
    r0 = arr.shape[0] // 2 - crop // 2
    c0 = arr.shape[1] // 2 - crop // 2
    ds.PixelData = np.ascontiguousarray(arr[r0 : r0 + crop, c0 : c0 + crop]).tobytes()
    ds.Rows = crop
    ds.Columns = crop
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    (out / "dicom" / name.replace(".dcm", f"_{crop}.dcm")).write_bytes(buf.getvalue())

# Two files of one series in one input, split where the dicom target splits.
two = [(out / "dicom" / f"lidc_chest_slice{i}_48.dcm").read_bytes() for i in (0, 1)]
(out / "dicom" / "lidc_series_2x48.bin").write_bytes(two[0] + b"\xff\x00LS" + two[1])

# Compressed transfer syntaxes of the 48² crop (run after this script, needs GDCM):
#   for o in jpeg rle j2k deflated implicit; do gdcmconv --$o seeds/dicom/lidc_chest_slice0_48.dcm seeds/dicom/lidc48_$o.dcm; done
