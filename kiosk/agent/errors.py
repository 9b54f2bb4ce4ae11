"""Errors of the kiosk agent, by who is at fault and what the agent does next.

    BgkError (kiosk.protocol.errors)
    ├── CommandRefused (kiosk.agent.remote)
    │                            a command from the server that must not run (bad
    │                            signature, for another kiosk, expired, already seen):
    │                            answered "refused", logged, nothing done
    └── AgentError               no install happened; the current pack keeps playing
        ├── PackRejected         what the server sent failed a check: keep the current
        │   │                    pack, report, try again only at the next interval
        │   ├── UntrustedMetadata  TUF refused the metadata: signature, threshold, rollback
        │   ├── MetadataExpired    the signed metadata has expired: the kiosk is `stale`
        │   ├── BadDownload        a file does not match its signed hash or length
        │   ├── BadManifest        the pack's manifest is invalid or unsafe
        │   ├── OlderPack          the offered pack is older than the installed one
        │   └── PackFailedHealth   the new pack failed to start N times: reverted, blacklisted
        ├── NetworkFailed        the server could not be reached or stopped sending:
        │   │                    retry with exponential backoff and jitter
        │   ├── ServerUnreachable  connection refused, no route, DNS, connect timeout
        │   ├── DownloadStalled    the server stopped sending (read timeout)
        │   └── ServerFailed       the server answered with an unexpected HTTP status
        │       ├── NotFound (kiosk.agent.fetch)
        │       │                  403/404: the server has no such file
        │       └── RangeNotSatisfiable (kiosk.agent.fetch)
        │                          416: the partial download is longer than the file
        └── LocalProblem         this kiosk's own problem (disk, files): a technician must look
            ├── NotEnoughSpace     free space is below what the download needs
            ├── DiskFailed         writing to the state folder failed (full, read-only, damaged)
            ├── SyncBusy           another sync holds the lock (try again in a minute)
            ├── ImportTimedOut     reading a USB stick took longer than the import's limit
            └── ClockWrong         the kiosk's clock is far from every signed time: check it

Every error has a stable `code` (the dashboard translates it) and a message
for a technician: what happened, what the kiosk does now, what to do.
"""

from __future__ import annotations

from typing import ClassVar, Final

from kiosk.protocol.errors import BgkError


class AgentError(BgkError):
    code: ClassVar[str] = "agent-error"
    #: "interval": try again at the next regular sync; "backoff": soon, with growing delays
    retry: ClassVar[str] = "interval"


class PackRejected(AgentError):
    code = "pack-rejected"
    exit_code = 4


class UntrustedMetadata(PackRejected):
    code = "untrusted-metadata"


class MetadataExpired(PackRejected):
    code = "metadata-expired"


class BadDownload(PackRejected):
    code = "bad-download"


class BadManifest(PackRejected):
    code = "bad-manifest"


class OlderPack(PackRejected):
    code = "older-pack"


class PackFailedHealth(PackRejected):
    code = "pack-failed-health"


class NetworkFailed(AgentError):
    code = "network-failed"
    retry = "backoff"
    exit_code = 3


class ServerUnreachable(NetworkFailed):
    code = "server-unreachable"


class DownloadStalled(NetworkFailed):
    code = "download-stalled"


class ServerFailed(NetworkFailed):
    code = "server-failed"


class LocalProblem(AgentError):
    code = "local-problem"
    retry = "backoff"
    exit_code = 5


class NotEnoughSpace(LocalProblem):
    code = "not-enough-space"


class DiskFailed(LocalProblem):
    code = "disk-failed"


class SyncBusy(LocalProblem):
    code = "sync-busy"


class ImportTimedOut(LocalProblem):
    code = "import-timed-out"


class ClockWrong(LocalProblem):
    """Signed metadata looks expired because the kiosk's clock is far ahead."""

    code = "clock-wrong"


#: one line per code for the console and dashboard in Vietnamese (English is the message)
SUMMARY_VI: Final[dict[str, str]] = {
    "agent-error": "Lỗi đồng bộ; kiosk vẫn hiển thị gói nội dung hiện tại.",
    "pack-rejected": "Gói nội dung bị từ chối; kiosk giữ gói hiện tại.",
    "untrusted-metadata": "Dữ liệu ký số từ máy chủ không hợp lệ; kiosk giữ gói hiện tại. Báo Sở TT&TT.",
    "metadata-expired": "Chữ ký số đã hết hạn (nội dung cũ); kiosk vẫn hiển thị gói hiện tại. Kiểm tra máy chủ.",
    "bad-download": "Tệp tải về không khớp chữ ký; kiosk giữ gói hiện tại và sẽ thử lại.",
    "bad-manifest": "Danh mục gói nội dung không hợp lệ; kiosk giữ gói hiện tại. Báo Sở TT&TT.",
    "older-pack": "Máy chủ đưa gói cũ hơn gói đang dùng; không cài đặt.",
    "pack-failed-health": "Gói mới không khởi động được; đã quay lại gói trước và chặn phiên bản này.",
    "network-failed": "Lỗi mạng; kiosk sẽ thử lại.",
    "server-unreachable": "Không kết nối được máy chủ; kiosk sẽ thử lại. Kiểm tra mạng.",
    "download-stalled": "Máy chủ ngừng gửi dữ liệu; kiosk sẽ tiếp tục tải sau.",
    "server-failed": "Máy chủ trả lời lỗi; kiosk sẽ thử lại.",
    "local-problem": "Lỗi trên kiosk; cần kỹ thuật viên kiểm tra.",
    "not-enough-space": "Không đủ dung lượng trống để tải gói mới; cần giải phóng bộ nhớ.",
    "disk-failed": "Lỗi ghi thẻ nhớ/ổ đĩa của kiosk; cần kỹ thuật viên kiểm tra.",
    "sync-busy": "Một lần đồng bộ khác đang chạy; thử lại sau một phút.",
    "import-timed-out": "Đọc USB quá lâu (USB hỏng hoặc quá chậm); không cài đặt gì. Thử USB khác.",
    "clock-wrong": "Đồng hồ của kiosk có lẽ bị sai; kiểm tra bằng `timedatectl` (NTP).",
}
