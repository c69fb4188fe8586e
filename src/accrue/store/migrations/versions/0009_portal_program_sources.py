"""program sources: each version's YAML as written

Revision ID: 0009_portal
Revises: 0009_notify
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_portal"
down_revision = "0009_notify"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "program_sources",
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("program_id", "version", name=op.f("pk_program_sources")),
    )


def downgrade() -> None:
    op.drop_table("program_sources")
