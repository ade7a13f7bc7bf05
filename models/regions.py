"""The national administrative divisions (行政区划) as a tree under the ministry's root."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

#: The root above the provinces: the ministry's (部级) region.
ROOT_CODE = "000000"
ROOT_NAME = "全国"


class Region(SQLModel, table=True):
    """One region. ``level``: 0 the national root, 1 province, 2 prefecture, 3 county.

    ``path`` is the chain of codes from the root down to this region, each followed by
    ``/`` (``000000/440000/440100/440106/``), so a subtree is one indexed prefix match.
    """

    __tablename__ = "region"
    __table_args__ = (
        sa.Index("ix_region_path", "path", postgresql_ops={"path": "varchar_pattern_ops"}),
    )

    code: str = Field(primary_key=True, max_length=6)
    name: str = Field(max_length=64)
    level: int = Field(ge=0, le=3)
    parent_code: str | None = Field(default=None, foreign_key="region.code", index=True)
    path: str = Field(max_length=64)
