"""claims, funds and disputes

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "claims",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=True),
        sa.Column("claimed_on", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("requested", sa.String(length=40), nullable=False),
        sa.Column("approved", sa.String(length=40), nullable=False),
        sa.Column("prevented", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source_name", sa.String(length=500), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
        sa.UniqueConstraint(
            "kind", "partner_id", "number", name=op.f("uq_claims_kind_partner_id_number")
        ),
    )
    op.create_index(op.f("ix_claims_partner_id"), "claims", ["partner_id"], unique=False)
    op.create_table(
        "agreements",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("end_customer", sa.String(length=200), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("claim_window_days", sa.Integer(), nullable=False),
        sa.Column("products", sa.Text(), nullable=False),
        sa.Column("exclusive_of", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_agreements_batch_id_batches")
        ),
        sa.PrimaryKeyConstraint("id", "version", name=op.f("pk_agreements")),
    )
    op.create_index(op.f("ix_agreements_partner_id"), "agreements", ["partner_id"], unique=False)
    op.create_table(
        "claim_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("agreement_id", sa.String(length=64), nullable=False),
        sa.Column("agreement_version", sa.Integer(), nullable=True),
        sa.Column("end_customer", sa.String(length=200), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("invoice", sa.String(length=100), nullable=False),
        sa.Column("invoice_line", sa.String(length=32), nullable=False),
        sa.Column("invoice_key", sa.String(length=300), nullable=False),
        sa.Column("quantity", sa.String(length=40), nullable=False),
        sa.Column("sold_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("approved_quantity", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.String(length=40), nullable=False),
        sa.Column("prevented", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=4), nullable=True),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_claim_lines_claim_id_claims")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_lines")),
    )
    op.create_index(op.f("ix_claim_lines_claim_id"), "claim_lines", ["claim_id"], unique=False)
    op.create_index(
        op.f("ix_claim_lines_invoice_key"), "claim_lines", ["invoice_key"], unique=False
    )
    op.create_table(
        "fund_draws",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_fund_draws_claim_id_claims")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_draws")),
    )
    op.create_index(op.f("ix_fund_draws_claim_id"), "fund_draws", ["claim_id"], unique=False)
    op.create_table(
        "proofs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_proofs_claim_id_claims")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proofs")),
    )
    op.create_index(op.f("ix_proofs_claim_id"), "proofs", ["claim_id"], unique=False)
    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("subject_key", sa.String(length=200), nullable=False),
        sa.Column("program_id", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.String(length=32), nullable=False),
        sa.Column("adjustment", sa.String(length=40), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolved_at", sa.String(length=32), nullable=True),
        sa.Column("journal_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["journal_id"], ["journals.id"], name=op.f("fk_disputes_journal_id_journals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
    )
    op.create_index(op.f("ix_disputes_partner_id"), "disputes", ["partner_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_disputes_partner_id"), table_name="disputes")
    op.drop_table("disputes")
    op.drop_index(op.f("ix_proofs_claim_id"), table_name="proofs")
    op.drop_table("proofs")
    op.drop_index(op.f("ix_fund_draws_claim_id"), table_name="fund_draws")
    op.drop_table("fund_draws")
    op.drop_index(op.f("ix_claim_lines_invoice_key"), table_name="claim_lines")
    op.drop_index(op.f("ix_claim_lines_claim_id"), table_name="claim_lines")
    op.drop_table("claim_lines")
    op.drop_index(op.f("ix_agreements_partner_id"), table_name="agreements")
    op.drop_table("agreements")
    op.drop_index(op.f("ix_claims_partner_id"), table_name="claims")
    op.drop_table("claims")
