"""Refuse an upload as soon as it is known to be too large, before it is written to disk."""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler


class UploadSizeLimitHandler(FileUploadHandler):
    """First of the upload handlers: stops a multipart body larger than MAX_UPLOAD_BYTES.

    A declared Content-Length above the limit is refused before any byte is
    read; a body without one is counted as it arrives. Each endpoint still
    applies its own, smaller limit with a field message.
    """

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.received = 0
        if content_length and content_length > settings.MAX_UPLOAD_BYTES:
            raise RequestDataTooBig("The upload is larger than the server accepts.")

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > settings.MAX_UPLOAD_BYTES:
            raise RequestDataTooBig("The upload is larger than the server accepts.")
        return raw_data

    def file_complete(self, file_size):
        return None
