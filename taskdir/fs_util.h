#pragma once
// Small POSIX helpers shared by the task directory writer and reader: timestamps and private files.
// Internal to taskdir/.

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace coco::taskdir::detail {

// "2025-01-02T03:04:05.123Z": the `ts` of every JSONL line.
std::string iso_utc_ms(std::chrono::system_clock::time_point t);
// "2025-01-02T03:04:05Z": the times in task.yaml.
std::string iso_utc_seconds(std::chrono::system_clock::time_point t);
// Appends the current time as iso_utc_ms. The date part is cached per thread and only re-formatted
// when the second changes, because the bridge stamps every proxied message.
void append_now_ms(std::string& out);
// Parses both forms above (and an offset-free "YYYY-MM-DDTHH:MM:SS" taken as UTC).
std::optional<std::chrono::system_clock::time_point> parse_iso_utc(std::string_view text);

// mkdir with mode 0700, then chmod, because umask may have removed bits we rely on (or left group/other
// bits that we must not have). Returns false with errno set; an existing directory is an error only if
// `must_be_new`.
bool make_private_dir(const std::filesystem::path& dir, bool must_be_new);
// Creates every missing component of `dir` as a private directory (existing ones are left alone).
void make_private_dirs(const std::filesystem::path& dir);
// Opens for appending (O_APPEND so that every write lands at the end, whole), creating with 0600.
// Throws std::runtime_error naming the file.
int open_private_append(const std::filesystem::path& file);

// Writes everything, retrying on EINTR and short writes. Returns 0 or the errno of the failure;
// *written tells how much reached the file.
int write_all(int fd, const char* data, std::size_t size, std::size_t* written = nullptr);
// The same for several buffers, written with as few writev() calls as possible (one unless there are
// more than IOV_MAX buffers or a write comes back short).
int writev_all(int fd, const std::string_view* parts, std::size_t count, std::size_t* written = nullptr);
// Replaces `file` atomically: a temp file in the same directory, fsync, rename, fsync of the directory,
// so a reader sees the old or the new content, never a mix. Returns 0 or an errno.
int atomic_write_file(const std::filesystem::path& file, std::string_view content);
// Returns 0 or an errno.
int fsync_dir(const std::filesystem::path& dir);
// Creates `file` with `size` bytes of allocated blocks (so that deleting it frees room). 0 or an errno.
int make_reserve_file(const std::filesystem::path& file, std::size_t size);

}  // namespace coco::taskdir::detail
