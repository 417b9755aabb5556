"""Backups: a checksummed archive of the metadata DB, policy and artifacts, and its restore."""

from modelward.backup.archive import BackupInfo, create_backup, verify_backup
from modelward.backup.restore import restore_backup

__all__ = ["BackupInfo", "create_backup", "restore_backup", "verify_backup"]
