"""media: videos and frame hashes (vPDQ) for report images and the hash list

Revision ID: 0013_media
Revises: 0007_review, 0005_hashlist
Create Date: 2026-12-01 22:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_media'
# Both areas change: report images (the reports branch, through review) and the hash list. Merging the
# two branches here keeps each table's changes after the revision that made it.
down_revision = ('0007_review', '0005_hashlist')
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('report_images', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media', sa.String(length=8), server_default='image', nullable=False))
        batch_op.add_column(sa.Column('duration_ms', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('codec', sa.String(length=16), nullable=True))
        batch_op.alter_column('pdq', existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column('pdq_quality', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('phash', existing_type=sa.String(length=16), nullable=True)
        batch_op.create_check_constraint(op.f('ck_report_images_media'), "media IN ('image', 'video')")

    op.create_table('report_image_frames',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('frame', sa.Integer(), nullable=False),
    sa.Column('timestamp_ms', sa.Integer(), nullable=False),
    sa.Column('pdq', sa.String(length=64), nullable=False),
    sa.Column('quality', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['report_images.id'], name=op.f('fk_report_image_frames_image_id_report_images'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_image_frames')),
    sa.UniqueConstraint('image_id', 'position', name='uq_report_image_frames_image_position')
    )
    with op.batch_alter_table('report_image_frames', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_image_frames_image_id'), ['image_id'], unique=False)

    with op.batch_alter_table('image_matches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('frames', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('query_percent', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('other_percent', sa.Integer(), nullable=True))

    with op.batch_alter_table('hash_list', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media', sa.String(length=8), server_default='image', nullable=False))
        batch_op.alter_column('pdq', existing_type=sa.String(length=64), nullable=True)
        batch_op.create_check_constraint(op.f('ck_hash_list_media'), "media IN ('image', 'video')")

    op.create_table('hash_list_frames',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('timestamp_ms', sa.Integer(), nullable=False),
    sa.Column('pdq', sa.String(length=64), nullable=False),
    sa.Column('quality', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['hash_list.id'], name=op.f('fk_hash_list_frames_entry_id_hash_list'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hash_list_frames')),
    sa.UniqueConstraint('entry_id', 'position', name='uq_hash_list_frames_entry_position')
    )
    with op.batch_alter_table('hash_list_frames', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hash_list_frames_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_hash_list_frames_pdq'), ['pdq'], unique=False)


def downgrade() -> None:
    op.drop_table('hash_list_frames')
    with op.batch_alter_table('hash_list', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_hash_list_media'), type_='check')
        batch_op.alter_column('pdq', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column('media')
    with op.batch_alter_table('image_matches', schema=None) as batch_op:
        batch_op.drop_column('other_percent')
        batch_op.drop_column('query_percent')
        batch_op.drop_column('frames')
    op.drop_table('report_image_frames')
    with op.batch_alter_table('report_images', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_report_images_media'), type_='check')
        batch_op.alter_column('phash', existing_type=sa.String(length=16), nullable=False)
        batch_op.alter_column('pdq_quality', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('pdq', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column('codec')
        batch_op.drop_column('duration_ms')
        batch_op.drop_column('media')
