"""The managed collection: documents added and removed after the first index (`qa add`, `qa remove`,
`qa list`, the 文件管理 tab), and the index updates that follow them (qa.manage.jobs)."""

from qa.manage.collection import AddOutcome, Collection, FilePreview, ManageError

__all__ = ["AddOutcome", "Collection", "FilePreview", "ManageError"]
