#include "taskdir/fs_util.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <vector>

namespace coco::taskdir::detail {
namespace {

void append_digits(std::string& out, long value, int width) {
  char buf[8];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  out.append(buf, static_cast<std::size_t>(width));
}

std::string format_seconds(std::time_t seconds) {
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(buf, n);
}

}  // namespace

std::string iso_utc_ms(std::chrono::system_clock::time_point t) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  auto seconds = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  std::string out = format_seconds(seconds);
  out += '.';
  append_digits(out, static_cast<long>(ms - static_cast<long long>(seconds) * 1000), 3);
  out += 'Z';
  return out;
}

std::string iso_utc_seconds(std::chrono::system_clock::time_point t) {
  return format_seconds(std::chrono::system_clock::to_time_t(t)) + "Z";
}

void append_now_ms(std::string& out) {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  thread_local std::time_t cached_second = -1;
  thread_local std::string cached_prefix;
  if (now.tv_sec != cached_second) {
    cached_prefix = format_seconds(now.tv_sec);
    cached_second = now.tv_sec;
  }
  out += cached_prefix;
  out += '.';
  append_digits(out, now.tv_nsec / 1000000, 3);
  out += 'Z';
}

std::optional<std::chrono::system_clock::time_point> parse_iso_utc(std::string_view text) {
  std::tm tm{};
  std::string s(text);
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return std::nullopt;
  long ms = 0;
  if (*rest == '.') {
    ++rest;
    int digits = 0;
    while (*rest >= '0' && *rest <= '9') {
      if (digits < 3) ms = ms * 10 + (*rest - '0');
      ++digits;
      ++rest;
    }
    for (; digits < 3; ++digits) ms *= 10;
  }
  if (*rest != '\0' && *rest != 'Z') return std::nullopt;
  // Files may say anything: outside these years a difference of two times would overflow the clock's
  // nanoseconds (found by fuzz_task_reader: a `created` in the year 1012).
  if (tm.tm_year + 1900 < 1970 || tm.tm_year + 1900 > 2261) return std::nullopt;
  std::time_t seconds = timegm(&tm);
  return std::chrono::system_clock::from_time_t(seconds) + std::chrono::milliseconds(ms);
}

bool make_private_dir(const std::filesystem::path& dir, bool must_be_new) {
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno != EEXIST || must_be_new) return false;
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) return false;
    if (!S_ISDIR(st.st_mode)) {
      errno = ENOTDIR;
      return false;
    }
    return true;  // pre-existing: its mode is the owner's business
  }
  return ::chmod(dir.c_str(), 0700) == 0;
}

void make_private_dirs(const std::filesystem::path& dir) {
  std::filesystem::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (partial == partial.root_path()) continue;
    if (!make_private_dir(partial, false)) {
      throw std::runtime_error("cannot create directory " + partial.string() + ": " + std::strerror(errno));
    }
  }
}

int open_private_append(const std::filesystem::path& file) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0 || ::fchmod(fd, 0600) != 0) {
    int err = errno;
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot open " + file.string() + ": " + std::strerror(err));
  }
  return fd;
}

int write_all(int fd, const char* data, std::size_t size, std::size_t* written) {
  std::size_t done = 0;
  int err = 0;
  while (done < size) {
    ssize_t n = ::write(fd, data + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    if (n == 0) {  // should not happen for regular files; avoid spinning
      err = EIO;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (written != nullptr) *written = done;
  return err;
}

int writev_all(int fd, const std::string_view* parts, std::size_t count, std::size_t* written) {
  std::vector<iovec> iov;
  iov.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    if (!parts[i].empty()) iov.push_back({const_cast<char*>(parts[i].data()), parts[i].size()});
  }
  std::size_t done = 0;
  int err = 0;
  std::size_t first = 0;
  while (first < iov.size()) {
    int n_iov = static_cast<int>(std::min<std::size_t>(iov.size() - first, IOV_MAX));
    ssize_t n = ::writev(fd, iov.data() + first, n_iov);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    if (n == 0) {
      err = EIO;
      break;
    }
    done += static_cast<std::size_t>(n);
    // Skip what was written; a short write resumes inside the buffer where it stopped.
    auto left = static_cast<std::size_t>(n);
    while (first < iov.size() && left >= iov[first].iov_len) {
      left -= iov[first].iov_len;
      ++first;
    }
    if (left > 0) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  if (written != nullptr) *written = done;
  return err;
}

int fsync_dir(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

int atomic_write_file(const std::filesystem::path& file, std::string_view content) {
  std::filesystem::path tmp = file;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  int err = ::fchmod(fd, 0600) == 0 ? 0 : errno;
  if (err == 0) err = write_all(fd, content.data(), content.size());
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && ::rename(tmp.c_str(), file.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    return err;
  }
  return fsync_dir(file.parent_path());
}

int make_reserve_file(const std::filesystem::path& file, std::size_t size) {
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  // Real blocks, not a sparse file: deleting it must give room back.
  int err = ::posix_fallocate(fd, 0, static_cast<off_t>(size));
  if (err == EOPNOTSUPP || err == EINVAL) {
    std::string zeros(size, '\0');
    err = write_all(fd, zeros.data(), zeros.size());
  }
  ::close(fd);
  if (err != 0) ::unlink(file.c_str());
  return err;
}

}  // namespace coco::taskdir::detail
