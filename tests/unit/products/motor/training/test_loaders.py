"""Each bad input is refused with the file, the column and the first bad rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from quoteflow.products.motor.training import loaders, paths, synthetic
from quoteflow.products.motor.training.schema import POLICY_COLUMNS, DataError

HEADER = ",".join(c.name for c in POLICY_COLUMNS)
GOOD = "D,50,45,3,B12,6,0,0.5"


def policies_csv(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "policies.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_shipped_policies_load_through_the_schema() -> None:
    p = loaders.load_policies(paths.fremtpl_path())
    assert len(p) == 25_000
    assert list(p.columns) == [c.name for c in POLICY_COLUMNS]
    assert p["ClaimNb"].dtype.kind == "i" and p["Exposure"].dtype.kind == "f"


def test_shipped_claims_are_the_french_motor_claims_in_eur() -> None:
    c = loaders.load_fremtpl2sev(paths.fremtpl2sev_path())
    assert len(c) == 26_444 and list(c.columns) == ["amount"]
    # the figures the data README states, recomputed
    assert c["amount"].mean() == pytest.approx(2265.5126, abs=1e-3)
    assert c["amount"].median() == 1172 and c["amount"].max() == pytest.approx(4_075_400.56)
    assert (c["amount"] == 1204).sum() == 4792


def test_shipped_claims_checksum_is_verified(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    changed = tmp_path / "freMTPL2sev.csv"
    changed.write_bytes(paths.FREMTPL2SEV.read_bytes().replace(b"1204", b"1205", 1))
    monkeypatch.setattr(paths, "FREMTPL2SEV", changed)
    with pytest.raises(paths.ChecksumError, match="is not the published 3bea413c"):
        paths.fremtpl2sev_path()
    monkeypatch.setattr(paths, "FREMTPL2SEV", tmp_path / "absent.csv")
    with pytest.raises(paths.DataNotFoundError, match=r"absent\.csv: missing"):
        paths.fremtpl2sev_path()


def test_claim_amounts_file_is_checked(tmp_path: Path) -> None:
    bad = tmp_path / "sev.csv"
    bad.write_text("IDpol,ClaimAmount\n1,100\n2,-5\n3,abc\n")
    with pytest.raises(DataError, match=r"'ClaimAmount' is not a positive number at rows \[2, 3\]"):
        loaders.load_fremtpl2sev(bad)
    bad.write_text("IDpol,Amount\n1,100\n")
    with pytest.raises(DataError, match=r"missing column\(s\) \['ClaimAmount'\]"):
        loaders.load_fremtpl2sev(bad)


def test_missing_column(tmp_path: Path) -> None:
    path = policies_csv(tmp_path, "D,50,45,3,B12,6,0", header=HEADER.replace(",Exposure", ""))
    with pytest.raises(DataError, match=r"policies\.csv: missing column\(s\) 'Exposure'"):
        loaders.load_policies(path)


def test_wrong_type_names_column_rows_and_values(tmp_path: Path) -> None:
    path = policies_csv(tmp_path, GOOD, "D,50,forty,3,B12,6,0,0.5", GOOD, "D,50,x,3,B12,6,0,1")
    with pytest.raises(DataError) as e:
        loaders.load_policies(path)
    msg = str(e.value)
    assert str(path) in msg and "'DrivAge'" in msg and "is not a number" in msg
    assert "rows 2, 4" in msg and "'forty'" in msg


def test_fractional_integer_column(tmp_path: Path) -> None:
    path = policies_csv(tmp_path, GOOD, "D,50,45,3,B12,6,0.5,0.5")
    with pytest.raises(DataError, match=r"'ClaimNb' is not a whole number at rows 2 "):
        loaders.load_policies(path)


def test_negative_exposure(tmp_path: Path) -> None:
    path = policies_csv(tmp_path, GOOD, GOOD, "D,50,45,3,B12,6,0,-0.5")
    with pytest.raises(DataError, match=r"policies\.csv: column 'Exposure' is not positive "
                                        r"at rows 3 "):
        loaders.load_policies(path)


def test_zero_exposure_is_refused_too(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="'Exposure' is not positive"):
        loaders.load_policies(policies_csv(tmp_path, "D,50,45,3,B12,6,0,0"))


def test_negative_claim_count(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="'ClaimNb' is negative at rows 1 "):
        loaders.load_policies(policies_csv(tmp_path, "D,50,45,3,B12,6,-1,0.5"))


def test_missing_value(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="'VehPower' is missing at rows 1 "):
        loaders.load_policies(policies_csv(tmp_path, "D,50,45,3,B12,,0,0.5"))


def test_many_bad_rows_are_summarised(tmp_path: Path) -> None:
    rows = [GOOD] + ["D,50,45,3,B12,6,0,-1"] * 12
    with pytest.raises(DataError, match=r"rows 2, 3, 4, 5, 6 and 7 more"):
        loaders.load_policies(policies_csv(tmp_path, *rows))


@pytest.mark.parametrize("content", ["", "\n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "policies.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=r"policies\.csv: the file is empty"):
        loaders.load_policies(path)


def test_header_only_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"policies\.csv: the file has no data rows"):
        loaders.load_policies(policies_csv(tmp_path))


def test_unsupported_suffix_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "p.xlsx").write_text("x")
    with pytest.raises(DataError, match=r"unsupported file type '\.xlsx'"):
        loaders.load_policies(tmp_path / "p.xlsx")
    with pytest.raises(DataError, match="no such file"):
        loaders.load_policies(tmp_path / "absent.csv")


def test_parquet_policies_roundtrip_and_wrong_type(tmp_path: Path) -> None:
    frame = synthetic.policies(100, seed=1)
    good = synthetic.write(frame, tmp_path / "p.parquet")
    pd.testing.assert_frame_equal(loaders.load_policies(good), loaders.load_policies(
        synthetic.write(frame, tmp_path / "p.csv")), check_dtype=False)
    bad = frame.astype({"DrivAge": str})  # a text column where a number belongs
    bad.loc[7, "DrivAge"] = "old"
    path = synthetic.write(bad, tmp_path / "bad.parquet")
    with pytest.raises(DataError, match=r"bad\.parquet: column 'DrivAge' is not a number "
                                        r"\(int\) at rows 8 "):
        loaders.load_policies(path)


def test_claims_non_positive_amount(tmp_path: Path) -> None:
    path = tmp_path / "claims.csv"
    path.write_text("accident_date,amount\n2020-01-05,1000\n2020-02-01,0\n2021-03-01,-5\n")
    with pytest.raises(DataError, match=r"claims\.csv: column 'amount' is not positive "
                                        r"at rows 2, 3 "):
        loaders.load_claims(path)


def test_claims_bad_date_and_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "claims.csv"
    path.write_text("accident_date,amount\n2020-01-05,1000\n05/02/2020,10\n")
    with pytest.raises(DataError, match=r"'accident_date' is not an ISO date .* at rows 2 "):
        loaders.load_claims(path)
    path.write_text("date,amount\n2020-01-05,1000\n")
    with pytest.raises(DataError, match=r"missing column 'accident_date' \(or 'accident_year'\)"):
        loaders.load_claims(path)
    path.write_text("accident_date,loss\n2020-01-05,1000\n")
    with pytest.raises(DataError, match=r"missing column.*'amount'"):
        loaders.load_claims(path)


def test_claims_with_accident_year_and_parquet(tmp_path: Path) -> None:
    path = synthetic.write(pd.DataFrame({"accident_year": [2019, 2020], "amount": [1.5, 2.0]}),
                           tmp_path / "c.parquet")
    c = loaders.load_claims(path)
    assert c["accident_year"].tolist() == [2019, 2020]
    assert c["amount"].tolist() == [1.5, 2.0]


def test_rows_outside_the_domain_are_counted_by_reason_not_dropped_silently() -> None:
    frame = synthetic.policies(50, seed=3)
    frame.loc[0, "DrivAge"] = 17
    frame.loc[1, "VehBrand"] = "B10"
    frame.loc[2, ["VehBrand", "BonusMalus"]] = ["B14", 40]
    f = loaders.filter_domain(loaders.validate_policies(frame, "synthetic"))
    assert f.rows_read == 50 and f.dropped == 3 and len(f.kept) == 47
    assert f.by_reason == {"driver_age": 1, "bonus_malus": 1, "brand": 2}
