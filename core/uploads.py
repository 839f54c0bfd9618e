"""Uploaded files go to disk as they arrive, never into memory, up to a size limit.

The only page that takes files is the owner's data import (/owner/import/), whose files
can be hundreds of megabytes. Django keeps files under FILE_UPLOAD_MAX_MEMORY_SIZE in
memory with its default handlers; this one writes every file to a temporary file in
FILE_UPLOAD_TEMP_DIR and stops reading once a request's files pass
IMPORT_UPLOAD_MAX_BYTES. The form's other fields (the CSRF token first) come before the
files and are kept; the view finds `request.upload_too_large` set and says so.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler


class LimitedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    def __init__(self, request=None) -> None:
        super().__init__(request)
        self.limit = int(settings.IMPORT_UPLOAD_MAX_BYTES)
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # A body announced larger than the limit is refused before a byte is stored.
        self.announced = content_length
        return None

    def new_file(self, *args, **kwargs) -> None:
        if getattr(self, "announced", 0) > self.limit + 1_000_000:
            self._refuse()
        super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self._refuse()
        return super().receive_data_chunk(raw_data, start)

    def _refuse(self) -> None:
        if self.request is not None:
            self.request.upload_too_large = self.limit  # type: ignore[attr-defined]
        # The rest of the body is read and dropped, so the page can answer.
        raise StopUpload(connection_reset=False)
