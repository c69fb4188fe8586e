"""postings by partner

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_postings_partner_id_program_id"),
        "postings",
        ["partner_id", "program_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_postings_partner_id_program_id"), table_name="postings")
