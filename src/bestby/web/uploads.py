"""Refuse an upload past ``BESTBY_MAX_UPLOAD_MB`` while it arrives, before more of it is stored.

Django parses a multipart body as soon as anything reads ``request.POST``
(the CSRF check does, before any view runs) and streams a file upload to a
temporary file as it goes; the view's own size check would come after the
whole body was on disk. :class:`CappedUploadHandler` runs first in
``FILE_UPLOAD_HANDLERS``: it counts the bytes of the files in the body and,
past the cap (or when ``Content-Length`` already says so), stops the upload.
Django then removes the part already written and reads the rest of the body
without keeping it, so the page can still answer with a message;
``request.upload_refused`` says which (the import page shows it, with 400).
The form fields before the file (the CSRF token, the source) are kept.
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

#: room for the form's other fields beside the file in Content-Length
FIELDS_ALLOWANCE = 64 * 1024


def refusal(cap: int) -> str:
    return f"file: larger than {cap // 2**20:,} MB; the import page takes uploads up to BESTBY_MAX_UPLOAD_MB"


class CappedUploadHandler(FileUploadHandler):
    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.cap = settings.BESTBY_MAX_UPLOAD_BYTES
        self.received = 0
        self.too_large = content_length > self.cap + FIELDS_ALLOWANCE
        return None  # the multipart parser goes on; this handler only counts

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        if self.too_large:
            self._stop()

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.cap:
            self._stop()
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler (memory or temporary file) makes the file

    def _stop(self) -> None:
        if self.request is not None:
            self.request.upload_refused = refusal(self.cap)
        raise StopUpload(connection_reset=False)
