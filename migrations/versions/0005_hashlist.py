"""hashlist: audit log, hash list, partners and their feedback

Revision ID: 0005_hashlist
Revises: 0001
Create Date: 2026-11-25 02:10:00.000000
"""
from alembic import op
import sqlalchemy as sa
import bot.models.base


revision = '0005_hashlist'
down_revision = '0001'
branch_labels = None
depends_on = None

# The audit log is append-only: the database itself refuses to change or delete an entry.
_PG_GUARD = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('at', bot.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_role', sa.String(length=16), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=80), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_log')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_log_hash'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_subject'), ['subject'], unique=False)

    op.create_table('hash_list',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=36), nullable=False),
    sa.Column('report_image_id', sa.Integer(), nullable=False),
    sa.Column('report_ref', sa.String(length=32), nullable=True),
    sa.Column('md5', sa.String(length=32), nullable=False),
    sa.Column('sha1', sa.String(length=40), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('pdq', sa.String(length=64), nullable=False),
    sa.Column('pdq_quality', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=1), nullable=False),
    sa.Column('published_at', bot.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', bot.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('withdraw_reason', sa.String(length=16), nullable=True),
    sa.Column('change_seq', sa.Integer(), nullable=False),
    sa.CheckConstraint("category IN ('A', 'B', 'C')", name=op.f('ck_hash_list_category')),
    sa.CheckConstraint("withdraw_reason IN ('withdrawn', 'removed')", name=op.f('ck_hash_list_withdraw_reason')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hash_list')),
    sa.UniqueConstraint('change_seq', name=op.f('uq_hash_list_change_seq')),
    sa.UniqueConstraint('public_id', name=op.f('uq_hash_list_public_id')),
    sa.UniqueConstraint('report_image_id', name=op.f('uq_hash_list_report_image_id'))
    )
    with op.batch_alter_table('hash_list', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hash_list_md5'), ['md5'], unique=False)
        batch_op.create_index(batch_op.f('ix_hash_list_pdq'), ['pdq'], unique=False)
        batch_op.create_index(batch_op.f('ix_hash_list_report_ref'), ['report_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_hash_list_sha1'), ['sha1'], unique=False)
        batch_op.create_index(batch_op.f('ix_hash_list_sha256'), ['sha256'], unique=False)

    op.create_table('partners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('key_prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', bot.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', bot.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', bot.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('window_start', sa.Integer(), nullable=False),
    sa.Column('window_count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partners')),
    sa.UniqueConstraint('key_prefix', name=op.f('uq_partners_key_prefix')),
    sa.UniqueConstraint('name', name=op.f('uq_partners_name'))
    )
    op.create_table('partner_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hash_entry_id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('note', sa.String(length=1000), nullable=True),
    sa.Column('at', bot.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("verdict IN ('removed', 'not_found', 'disputed')", name=op.f('ck_partner_feedback_verdict')),
    sa.ForeignKeyConstraint(['hash_entry_id'], ['hash_list.id'], name=op.f('fk_partner_feedback_hash_entry_id_hash_list'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['partner_id'], ['partners.id'], name=op.f('fk_partner_feedback_partner_id_partners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_feedback'))
    )
    with op.batch_alter_table('partner_feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_feedback_hash_entry_id'), ['hash_entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_partner_feedback_partner_id'), ['partner_id'], unique=False)

    if op.get_context().dialect.name == "postgresql":
        op.execute(_PG_GUARD)
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()")
    else:
        op.execute("CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
                   "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")
        op.execute("CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
                   "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    with op.batch_alter_table('partner_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_feedback_partner_id'))
        batch_op.drop_index(batch_op.f('ix_partner_feedback_hash_entry_id'))

    op.drop_table('partner_feedback')
    op.drop_table('partners')
    with op.batch_alter_table('hash_list', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hash_list_sha256'))
        batch_op.drop_index(batch_op.f('ix_hash_list_sha1'))
        batch_op.drop_index(batch_op.f('ix_hash_list_report_ref'))
        batch_op.drop_index(batch_op.f('ix_hash_list_pdq'))
        batch_op.drop_index(batch_op.f('ix_hash_list_md5'))

    op.drop_table('hash_list')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_subject'))
        batch_op.drop_index(batch_op.f('ix_audit_log_action'))

    op.drop_table('audit_log')
