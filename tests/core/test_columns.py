"""The result column: one label, one MLflow key, one heading, each parsed back to the same column."""

from __future__ import annotations

import pytest

from core.columns import Column


@pytest.mark.parametrize(("label", "key", "heading"), [("ssim A→B", "ssim.A2B", "SSIM A→B"),
                                                        ("lpips_div B→A", "lpips_div.B2A", "LPIPS_DIV B→A"),
                                                        ("fid", "fid", "FID")])
def test_label_key_and_heading_round_trip(label: str, key: str, heading: str) -> None:
    column = Column.parse(label)
    assert (column.label, column.key, column.heading) == (label, key, heading)
    if column.translation:
        assert Column.from_key(key) == column


def test_a_column_is_the_tuple_protocols_key_values_with() -> None:
    column = Column("ssim", "A→B")
    assert column == ("ssim", "A→B") and {("ssim", "A→B"): 1}[column] == 1
    metric, translation = column
    assert (metric, translation) == ("ssim", "A→B")


def test_unknown_encoded_translations_are_kept_and_bare_keys_refused() -> None:
    assert Column.from_key("miou.edges2photo") == Column("miou", "edges2photo")
    with pytest.raises(ValueError, match="not a <metric>"):
        Column.from_key("ssim")
