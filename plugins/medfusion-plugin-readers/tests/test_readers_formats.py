"""Image readers: PNG (8/16-bit, RGB), DICOM (rescale, MONOCHROME1, window), NIfTI, npy, errors."""

from __future__ import annotations

from pathlib import Path

import nibabel
import numpy as np
import pydicom
import pytest
from medfusion_plugin_readers import hooks
from medfusion_plugin_readers.formats import read_dicom
from PIL import Image
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from medfusion_core.data.readers import default_window, read_image
from medfusion_core.errors import DataError


@pytest.fixture
def readers(medfusion_host):
    """A host with only the core plugin and the readers plugin."""
    medfusion_host.register(hooks, "medfusion-plugin-readers")
    return medfusion_host


def write_dicom(path: Path, pixels: np.ndarray, **attributes: object) -> Path:
    """A minimal single-frame DICOM file holding ``pixels`` (uint16 or int16)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1 if pixels.dtype == np.int16 else 0
    for key, value in attributes.items():
        setattr(ds, key, value)
    ds.PixelData = pixels.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def test_png_8_bit_16_bit_rgb_and_rgba(tmp_path, readers):
    gray = np.arange(48, dtype=np.uint8).reshape(6, 8)
    deep = (np.arange(48, dtype=np.uint16) * 1000).reshape(6, 8)
    rgb = np.random.default_rng(0).integers(0, 256, (6, 8, 3)).astype(np.uint8)
    Image.fromarray(gray).save(tmp_path / "g.png")
    Image.fromarray(deep).save(tmp_path / "d.png")
    Image.fromarray(rgb).save(tmp_path / "c.PNG")
    Image.fromarray(np.dstack([rgb, np.full((6, 8), 7, np.uint8)])).save(tmp_path / "a.png")
    got = read_image(tmp_path / "g.png")
    assert got.dtype == np.uint8 and np.array_equal(got, gray)
    got = read_image(tmp_path / "d.png")
    assert got.dtype == np.uint16 and np.array_equal(got, deep)
    assert np.array_equal(read_image(tmp_path / "c.PNG"), rgb)
    assert np.array_equal(read_image(tmp_path / "a.png"), rgb)


def test_jpeg_reads_as_uint8(tmp_path, readers):
    Image.fromarray(np.full((8, 8), 128, np.uint8)).save(tmp_path / "x.jpg")
    got = read_image(tmp_path / "x.jpg")
    assert got.dtype == np.uint8 and abs(int(got.mean()) - 128) <= 1


def test_dicom_rescale_and_file_window(tmp_path, readers):
    stored = np.array([[0, 1000], [2000, 4095]], dtype=np.uint16)
    path = write_dicom(
        tmp_path / "ct.dcm", stored, RescaleSlope=2, RescaleIntercept=-1024, WindowCenter=40, WindowWidth=400
    )
    np.testing.assert_array_equal(read_image(path), stored.astype(np.float32) * 2 - 1024)
    assert read_image(path).dtype == np.float32
    assert default_window(path) == (-160.0, 240.0)


def test_dicom_monochrome1_is_inverted_with_its_window(tmp_path, readers):
    stored = np.array([[0, 100], [200, 300]], dtype=np.uint16)
    path = write_dicom(
        tmp_path / "cr.dcm",
        stored,
        PhotometricInterpretation="MONOCHROME1",
        WindowCenter=150,
        WindowWidth=300,
    )
    values = read_dicom(path)
    np.testing.assert_array_equal(values, -stored.astype(np.float32))
    low, high = default_window(path)
    shown = (np.clip(values, low, high) - low) / (high - low)
    # displayed brightness falls as the stored value rises
    np.testing.assert_allclose(shown, 1.0 - stored / 300.0)


def test_dicom_without_window_uses_the_stored_range(tmp_path, readers):
    path = write_dicom(tmp_path / "x.dcm", np.zeros((2, 2), np.int16), BitsStored=12, RescaleIntercept=10)
    assert default_window(path) == (-2048.0 + 10, 2047.0 + 10)


def test_nifti_volume_is_depth_first(tmp_path, readers):
    data = np.random.default_rng(1).random((5, 6, 7)).astype(np.float32)  # (x, y, z)
    nibabel.save(nibabel.Nifti1Image(data, np.eye(4)), tmp_path / "v.nii.gz")
    got = read_image(tmp_path / "v.nii.gz")
    assert got.shape == (7, 6, 5)
    np.testing.assert_allclose(got, data.transpose(2, 1, 0))


def test_npy_keeps_kernel_dtypes_and_converts_others(tmp_path, readers):
    np.save(tmp_path / "a.npy", np.ones((4, 4), np.uint16))
    np.save(tmp_path / "b.npy", np.ones((4, 4), np.float64))
    np.save(tmp_path / "c.npy", np.eye(3, dtype=bool))
    assert read_image(tmp_path / "a.npy").dtype == np.uint16
    assert read_image(tmp_path / "b.npy").dtype == np.float32
    assert read_image(tmp_path / "c.npy").max() == 255


@pytest.mark.parametrize("name", ["bad.png", "bad.dcm", "bad.nii", "bad.npy"])
def test_corrupt_files_raise_data_error_naming_the_file(tmp_path, readers, name):
    path = tmp_path / name
    path.write_bytes(b"this is not an image at all")
    with pytest.raises(DataError, match=name) as info:
        read_image(path)
    assert "\n" not in str(info.value)


def test_missing_file_and_unknown_type(tmp_path, readers):
    with pytest.raises(DataError, match=r"gone\.png: image file not found"):
        read_image(tmp_path / "gone.png")
    with pytest.raises(DataError, match=r"x\.gif: no image reader.*\.png"):
        read_image(tmp_path / "x.gif")


def test_readers_are_registered_with_extensions(readers):
    specs = {spec.name: spec for spec in hooks.medfusion_register_readers()}
    assert set(specs) == {"pillow", "dicom", "nifti", "numpy"}
    assert ".nii.gz" in specs["nifti"].extra["extensions"]
    for spec in specs.values():
        assert callable(spec.load())


def test_an_undecodable_dicom_transfer_syntax_is_named(tmp_path, readers):
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEG2000Lossless

    path = write_dicom(tmp_path / "j2k.dcm", np.zeros((4, 4), np.uint16))
    dataset = pydicom.dcmread(path)
    dataset.file_meta.TransferSyntaxUID = JPEG2000Lossless
    dataset.PixelData = encapsulate([b"\x00" * 20])  # not a JPEG 2000 codestream
    dataset["PixelData"].VR = "OB"
    dataset.save_as(path, enforce_file_format=True)
    with pytest.raises(DataError) as info:
        read_image(path)
    message = str(info.value)
    assert message.startswith(
        f"{path}: DICOM transfer syntax 'JPEG 2000 Image Compression (Lossless Only)' "
        "(1.2.840.10008.1.2.4.90) cannot be decoded ("
    )
    assert message.endswith("or convert the file to an uncompressed transfer syntax") and "\n" not in message
