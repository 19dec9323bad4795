#include "taskdir/disk_queue.h"

#include "taskdir/fs_util.h"
#include "taskdir/record_lines.h"
#include "taskdir/redact.h"
#include "taskdir/task_yaml.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

namespace coco::taskdir {
namespace {

using namespace std::chrono_literals;

// Roughly what a record costs besides its text, so that the bound is about memory.
constexpr std::size_t kRecordOverhead = 32;
// After a wake-up the thread waits this long (or until kBatchBytes are queued) before writing, so that
// one write() carries many lines and producers do not pay a futex wake per message. It bounds how much
// a crash of the bridge can lose on top of what was queued.
constexpr auto kGatherTime = 2ms;
constexpr std::size_t kBatchBytes = 256 * 1024;
// stderr without a newline is held back at most this much (redaction works on whole lines).
constexpr std::size_t kMaxPartialLine = 64 * 1024;
// Producers append to chunks of this capacity; up to kPoolChunks of them are kept for reuse.
constexpr std::size_t kChunkSize = 64 * 1024;
constexpr std::size_t kPoolChunks = 128;
// Records are written (and their room in the queue given back) in groups of about this size.
constexpr std::size_t kWriteGroupBytes = 1u << 20;
// Room kept on the task's disk for the final report and task.yaml (a few KB) should writes fill it.
constexpr std::size_t kReserveBytes = 64 * 1024;

// stdout carries the protocol: the library logs to stderr only, through a logger the application may
// register beforehand under the same name to send these messages elsewhere.
std::shared_ptr<spdlog::logger> logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    if (auto existing = spdlog::get("taskdir")) return existing;
    try {
      return spdlog::stderr_color_mt("taskdir");
    } catch (const spdlog::spdlog_ex&) {
      return spdlog::get("taskdir");
    }
  }();
  return instance;
}

void append_number(std::string& out, std::uint64_t value) {
  char buf[24];
  auto result = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, result.ptr);
}

std::size_t count_lines(std::string_view data) {
  return static_cast<std::size_t>(std::count(data.begin(), data.end(), '\n'));
}

// Redacts line by line: each line is one record (or one stderr line), so a quote left open by one
// line cannot make the JSON scan misread the next. Returns false, without copying, when no line
// changes (the common case: most lines that pass the prefilter hold a harmless "tokenUsage").
bool redact_lines(std::string_view data, std::string& out) {
  bool changed = false;
  std::size_t copied = 0;
  std::size_t start = 0;
  while (start < data.size()) {
    std::size_t end = data.find('\n', start);
    end = end == std::string_view::npos ? data.size() : end + 1;
    std::string_view line = data.substr(start, end - start);
    if (might_contain_secret(line)) {
      std::string redacted = redact_secrets(line);
      if (redacted != line) {
        if (!changed) out.reserve(data.size());
        out.append(data.substr(copied, start - copied));
        out += redacted;
        copied = end;
        changed = true;
      }
    }
    start = end;
  }
  if (changed) out.append(data.substr(copied));
  return changed;
}

}  // namespace

DiskQueue::DiskQueue(std::filesystem::path task_dir, int events_fd, std::size_t max_queued_bytes)
    : task_dir_(std::move(task_dir)), events_fd_(events_fd), max_bytes_(max_queued_bytes) {
  slots_.push_back(
      std::make_unique<Slot>(Slot{0, events_fd_, task_dir_ / "events.jsonl", true, {}, {}, {}, false, false}));
  events_slot_ = slots_.front().get();
  // One events.jsonl chunk for the disk thread, which appends event lines to it directly.
  events_slot_->writing.emplace_back();
  sync_dirs_.push_back(task_dir_);
  reserve_file_ = task_dir_ / ".reserve";
  if (detail::make_reserve_file(reserve_file_, kReserveBytes) != 0) reserve_file_.clear();
}

DiskQueue::~DiskQueue() { finish(); }

DiskQueue::SlotId DiskQueue::adopt_fd(int fd, std::filesystem::path file, bool jsonl) {
  std::lock_guard lock(mutex_);
  SlotId id = next_slot_id_++;
  slots_.push_back(std::make_unique<Slot>(Slot{id, fd, std::move(file), jsonl, {}, {}, {}, false, false}));
  return id;
}

void DiskQueue::close_slot(SlotId id) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    Slot* slot = find_slot_locked(id);
    if (slot == nullptr || id == 0) return;  // events.jsonl closes at finish
    slot->closing = true;
    ops_.push_back(Op{Kind::kClose, 0, 0, {}});  // wakes the thread even with nothing else queued
    wake = wake_locked(true);
  }
  if (wake) cv_.notify_one();
}

void DiskQueue::add_sync_dir(std::filesystem::path dir) {
  std::lock_guard lock(mutex_);
  if (std::find(sync_dirs_.begin(), sync_dirs_.end(), dir) == sync_dirs_.end())
    sync_dirs_.push_back(std::move(dir));
}

void DiskQueue::start() {
  thread_ = std::thread([this] { run(); });
}

WriterStats DiskQueue::stats() const {
  return {total_dropped_lines_.load(), total_dropped_bytes_.load(), total_write_errors_.load(), total_records_.load()};
}

// ---- producer side ----

DiskQueue::Slot* DiskQueue::find_slot_locked(SlotId id) {
  for (auto& slot : slots_) {
    if (slot->id == id) return slot->closing ? nullptr : slot.get();
  }
  return nullptr;
}

std::string& DiskQueue::chunk_for_locked(Slot& slot, std::size_t size) {
  if (!slot.pending.empty()) {
    std::string& last = slot.pending.back();
    if (last.size() + size <= last.capacity()) return last;
  }
  if (size <= kChunkSize && !free_chunks_.empty()) {
    slot.pending.push_back(std::move(free_chunks_.back()));
    free_chunks_.pop_back();
  } else {
    slot.pending.emplace_back();
    slot.pending.back().reserve(std::max(size, kChunkSize));  // a huge line gets a chunk of its own
  }
  return slot.pending.back();
}

bool DiskQueue::admit_locked(std::size_t cost, std::size_t payload, bool bounded, bool counts_as_line) {
  // Drop only once the bound is reached, so that a record larger than the room left (a big frame
  // right after a pause) is still kept: the queue stays within the bound plus one record.
  if (bounded && queued_bytes_ >= max_bytes_) {
    if (counts_as_line) {
      ++dropped_lines_;
      total_dropped_lines_.fetch_add(1, std::memory_order_relaxed);
    }
    dropped_bytes_ += payload;
    total_dropped_bytes_.fetch_add(payload, std::memory_order_relaxed);
    return false;
  }
  // Room again after drops: say so now, so the report sits where the gap is.
  if (dropped_lines_ != 0 || dropped_bytes_ != 0) {
    std::string ts;
    detail::append_now_ms(ts);
    ops_.push_back(Op{Kind::kDropped, dropped_lines_, dropped_bytes_, std::move(ts)});
    pending_bytes_ += kRecordOverhead;
    queued_bytes_ += kRecordOverhead;
    dropped_lines_ = dropped_bytes_ = 0;
  }
  pending_bytes_ += cost;
  queued_bytes_ += cost;
  if (pause_above_ != 0 && queued_bytes_ >= pause_above_) congested_.store(true, std::memory_order_relaxed);
  return true;
}

bool DiskQueue::wake_locked(bool urgent) {
  if (urgent) urgent_ = true;
  if (state_ == State::kIdle || (state_ == State::kGathering && (urgent || pending_bytes_ >= kBatchBytes))) {
    state_ = State::kBusy;  // one notification per wake-up is enough
    return true;
  }
  return false;
}

void DiskQueue::push_record(SlotId id, std::uint64_t* seq, std::string_view body) { push_record(id, seq, {body}); }

void DiskQueue::push_record(SlotId id, std::uint64_t* seq, std::initializer_list<std::string_view> body) {
  std::size_t size = 0;
  for (std::string_view part : body) size += part.size();
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    Slot* slot = find_slot_locked(id);
    if (slot == nullptr) return;
    std::uint64_t n = ++*seq;
    total_records_.fetch_add(1, std::memory_order_relaxed);
    if (!admit_locked(size + kRecordOverhead, size, true, true)) return;
    char number[24];
    std::size_t digits = static_cast<std::size_t>(std::to_chars(number, number + sizeof number, n).ptr - number);
    std::string& chunk = chunk_for_locked(*slot, 8 + digits + size);
    chunk += "{\"seq\":";
    chunk.append(number, digits);
    chunk += ',';
    for (std::string_view part : body) chunk += part;
    wake = wake_locked(false);
  }
  if (wake) cv_.notify_one();
}

void DiskQueue::push_stderr(SlotId id, std::string_view bytes) {
  if (bytes.empty()) return;
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    Slot* slot = find_slot_locked(id);
    if (slot == nullptr) return;
    if (!admit_locked(bytes.size(), bytes.size(), true, false)) return;
    chunk_for_locked(*slot, bytes.size()) += bytes;
    wake = wake_locked(false);
  }
  if (wake) cv_.notify_one();
}

void DiskQueue::push_event(std::string body) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    admit_locked(body.size() + kRecordOverhead, body.size(), false, false);
    ops_.push_back(Op{Kind::kEvent, 0, 0, std::move(body)});
    wake = wake_locked(false);
  }
  if (wake) cv_.notify_one();
}

void DiskQueue::request_sync() {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    ops_.push_back(Op{Kind::kSync, 0, 0, {}});
    wake = wake_locked(true);
  }
  if (wake) cv_.notify_one();
}

void DiskQueue::push_task_yaml(nlohmann::json meta) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return;
    yaml_meta_ = std::move(meta);
    wake = wake_locked(false);
  }
  if (wake) cv_.notify_one();
}

void DiskQueue::finish() {
  std::call_once(finish_once_, [this] {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) {
      thread_.join();
    } else {
      run();  // never started (creation failed half-way): still write what is queued and close
    }
  });
}

// ---- disk thread ----

void DiskQueue::run() {
  std::vector<Op> ops;
  std::vector<Slot*> slots, closing;
  for (;;) {
    std::optional<nlohmann::json> yaml;
    std::size_t batch_cost = 0;
    bool stopping = false;
    {
      std::unique_lock lock(mutex_);
      auto has_work = [this] { return !ops_.empty() || pending_bytes_ != 0 || yaml_meta_; };
      while (!has_work() && !closed_) {
        state_ = State::kIdle;
        cv_.wait(lock);
      }
      if (!closed_ && !urgent_ && pending_bytes_ < kBatchBytes) {
        state_ = State::kGathering;
        cv_.wait_for(lock, kGatherTime,
                     [this] { return closed_ || urgent_ || pending_bytes_ >= kBatchBytes; });
      }
      state_ = State::kBusy;
      urgent_ = false;
      ops.swap(ops_);
      slots.clear();
      closing.clear();
      for (auto& slot : slots_) {
        // `writing` was emptied by the last batch (events.jsonl keeps one chunk for append_event).
        for (auto& chunk : slot->pending) slot->writing.push_back(std::move(chunk));
        slot->pending.clear();
        slots.push_back(slot.get());
        // Nothing more comes for a closing file: this batch holds its last bytes.
        if (slot->closing) closing.push_back(slot.get());
      }
      yaml.swap(yaml_meta_);
      batch_cost = std::exchange(pending_bytes_, 0);
      // Producers stop at closed_, so this batch holds the last of everything.
      stopping = closed_;
    }

    report_write_failures();
    bool sync = stopping;
    for (Op& op : ops) {
      switch (op.kind) {
      case Kind::kEvent:
        append_event(op.body);
        break;
      case Kind::kDropped: {
        std::string body = "\"ts\":\"" + op.body + "\",\"type\":\"recording.dropped\",\"lines\":";
        append_number(body, op.lines);
        body += ",\"bytes\":";
        append_number(body, op.bytes);
        body += "}\n";
        append_event(body);
        break;
      }
      case Kind::kSync:
        sync = true;
        break;
      case Kind::kClose:  // handled through Slot::closing
        break;
      }
    }
    ops.clear();
    std::size_t batch_bytes = 0;
    for (Slot* slot : slots) {
      for (const std::string& chunk : slot->writing) batch_bytes += chunk.size();
    }
    batch_cost_left_ = batch_cost;
    cost_per_byte_ = batch_bytes == 0 ? 0.0 : static_cast<double>(batch_cost) / static_cast<double>(batch_bytes);
    for (Slot* slot : slots) {
      bool last = std::find(closing.begin(), closing.end(), slot) != closing.end();
      write_slot(*slot, sync || last);  // a file about to close keeps no partial line back
    }
    if (yaml) write_yaml(std::move(*yaml));
    if (sync) sync_all();
    release(batch_cost_left_);
    if (!closing.empty() && !stopping) {
      for (Slot* slot : closing) close_file(*slot);
      std::lock_guard lock(mutex_);
      std::erase_if(slots_, [&](const std::unique_ptr<Slot>& s) {
        return std::find(closing.begin(), closing.end(), s.get()) != closing.end();
      });
    }
    if (stopping) break;
  }
  settle_after_failures();
  std::lock_guard lock(mutex_);
  for (auto& slot : slots_) ::close(slot->fd);
  slots_.clear();
}

void DiskQueue::close_file(Slot& slot) {
  if (::fsync(slot.fd) != 0 && errno != EINVAL && errno != EROFS)
    note_failure(errno, "cannot fsync " + slot.file.string(), {}, false);
  ::close(slot.fd);
}

void DiskQueue::append_event(std::string_view body) {
  // Events are few: the first chunk of events.jsonl may grow as it likes.
  std::string& out = events_slot_->writing.front();
  total_records_.fetch_add(1, std::memory_order_relaxed);
  out += "{\"seq\":";
  append_number(out, ++event_seq_);
  out += ',';
  out += body;
}

void DiskQueue::report_write_failures() {
  // Reported first in a batch, so that the report takes its seq in file order.
  for (auto& [err, f] : unreported_failures_) {
    std::string body = "\"ts\":\"";
    detail::append_now_ms(body);
    body += "\",\"type\":\"recording.write_failed\",\"error\":";
    body += nlohmann::json(std::strerror(err)).dump();
    body += ",\"errno\":";
    append_number(body, static_cast<std::uint64_t>(err));
    body += ",\"failures\":";
    append_number(body, f.failures);
    body += ",\"lines\":";
    append_number(body, f.lines);
    body += ",\"bytes\":";
    append_number(body, f.bytes);
    // Since the start: a later report that lands tells the whole loss even if this one does not.
    body += ",\"totalLines\":";
    append_number(body, total_lost_lines_);
    body += ",\"totalBytes\":";
    append_number(body, total_lost_bytes_ + total_lost_log_bytes_);
    body += "}\n";
    append_event(body);
  }
  unreported_failures_.clear();
}

void DiskQueue::settle_after_failures() {
  std::error_code ignored;
  if (total_write_errors_.load() == 0 && unreported_failures_.empty()) {
    if (!reserve_file_.empty()) std::filesystem::remove(reserve_file_, ignored);
    return;
  }
  // The disk may be full: give back the reserve, then say what is missing, in events.jsonl and in
  // task.yaml. Each report itself may fail and then counts among the losses, so the last rewrite of
  // task.yaml comes after the last report.
  if (!reserve_file_.empty()) std::filesystem::remove(reserve_file_, ignored);
  reserve_file_.clear();
  for (int attempt = 0; attempt < 2 && !unreported_failures_.empty(); ++attempt) {
    report_write_failures();
    write_slot(*events_slot_, true);
  }
  ::fsync(events_fd_);
  if (last_yaml_) write_yaml(*last_yaml_);
}

void DiskQueue::write_slot(Slot& slot, bool flush_partial) {
  if (slot.jsonl && &slot != events_slot_) return write_records(slot);
  std::vector<std::string_view> parts;
  std::vector<std::string> redacted;  // owns redacted copies of chunks that held secrets
  redacted.reserve(slot.writing.size());
  if (slot.jsonl) {
    for (const std::string& chunk : slot.writing) {
      if (chunk.empty()) continue;
      std::string out;
      if (redact_lines(chunk, out)) {
        redacted.push_back(std::move(out));
        parts.push_back(redacted.back());
      } else {
        parts.push_back(chunk);
      }
    }
  } else {
    // Plain logs arrive in arbitrary chunks: write whole lines only, keep the rest for later.
    std::string data = std::move(slot.partial);
    slot.partial.clear();
    for (const std::string& chunk : slot.writing) data += chunk;
    std::size_t cut = data.rfind('\n');
    cut = cut == std::string::npos ? 0 : cut + 1;
    if (flush_partial || data.size() - cut > kMaxPartialLine) cut = data.size();
    slot.partial.assign(data, cut, std::string::npos);
    data.resize(cut);
    if (!data.empty()) {
      std::string out;
      redacted.push_back(redact_lines(data, out) ? std::move(out) : std::move(data));
      parts.push_back(redacted.back());
    }
  }
  if (!parts.empty()) write_chunks(slot, parts);
  recycle(slot.writing);
}

void DiskQueue::write_records(Slot& slot) {
  // An agent's records go out in groups of about kWriteGroupBytes. Each group's share of the queue bound
  // is given back, and its chunks recycled, as soon as it is written: under a flood, producers find room
  // steadily instead of having everything dropped while one batch of up to the whole bound is written.
  std::vector<std::string_view> parts;
  std::vector<std::string> redacted;  // owns the rewritten copies of chunks that changed
  redacted.reserve(slot.writing.size());
  std::size_t group_bytes = 0, first = 0;
  auto write_group = [&](std::size_t end) {
    if (!parts.empty()) write_chunks(slot, parts);
    parts.clear();
    redacted.clear();
    release(static_cast<std::size_t>(static_cast<double>(group_bytes) * cost_per_byte_));
    group_bytes = 0;
    recycle_range(slot.writing, first, end);
    first = end;
  };
  for (std::size_t i = 0; i < slot.writing.size(); ++i) {
    const std::string& chunk = slot.writing[i];
    if (!chunk.empty()) {
      std::string out;
      // Invalid messages become {error, raw} and secrets go, here on the disk thread.
      if (finish_record_lines(chunk, out)) {
        redacted.push_back(std::move(out));
        parts.push_back(redacted.back());
      } else {
        parts.push_back(chunk);
      }
      group_bytes += chunk.size();
    }
    if (group_bytes >= kWriteGroupBytes) write_group(i + 1);
  }
  write_group(slot.writing.size());
  slot.writing.clear();
}

void DiskQueue::release(std::size_t cost) {
  cost = std::min(cost, batch_cost_left_);
  if (cost == 0) return;
  batch_cost_left_ -= cost;
  bool relieved = false;
  {
    std::lock_guard lock(mutex_);
    queued_bytes_ -= cost;
    if (congested_.load(std::memory_order_relaxed) && queued_bytes_ <= resume_below_) {
      congested_.store(false, std::memory_order_relaxed);
      relieved = true;
    }
  }
  if (relieved) {
    std::lock_guard lock(relieved_mutex_);
    if (on_relieved_) on_relieved_();
  }
}

void DiskQueue::set_backpressure_marks(std::size_t pause_above, std::size_t resume_below) {
  std::lock_guard lock(mutex_);
  pause_above_ = pause_above;
  resume_below_ = std::min(resume_below, pause_above);
}

void DiskQueue::set_on_relieved(std::function<void()> on_relieved) {
  std::lock_guard lock(relieved_mutex_);
  on_relieved_ = std::move(on_relieved);
}

void DiskQueue::write_chunks(Slot& slot, const std::vector<std::string_view>& parts) {
  if (slot.torn) {
    // The last write stopped mid-line: end that line so the torn part stays one bad line on its own.
    // Until that works nothing else is written: a record glued to the torn part would be lost uncounted.
    if (int err = detail::write_all(slot.fd, "\n", 1); err != 0) {
      std::string lost;
      for (std::string_view part : parts) lost.append(part);
      note_failure(err, "cannot write " + slot.file.string(), lost, slot.jsonl);
      return;
    }
    slot.torn = false;
  }
  std::size_t written = 0;
  int err = detail::writev_all(slot.fd, parts.data(), parts.size(), &written);
  if (err == 0) return;
  // Account for what did not make it, and whether the file now ends mid-line.
  std::string lost;
  std::size_t skip = written;
  char last_written = '\n';
  for (std::string_view part : parts) {
    if (skip >= part.size()) {
      if (!part.empty()) last_written = part.back();
      skip -= part.size();
      continue;
    }
    if (skip > 0) last_written = part[skip - 1];
    lost.append(part.substr(skip));
    skip = 0;
  }
  if (written > 0 && last_written != '\n') slot.torn = true;
  note_failure(err, "cannot write " + slot.file.string(), lost, slot.jsonl);
}

void DiskQueue::recycle(Chunks& chunks) {
  bool keep_first = &chunks == &events_slot_->writing;
  std::vector<std::string> reusable;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    chunks[i].clear();
    if (keep_first && i == 0) continue;
    // Chunks made for one huge line are freed, not pooled.
    if (chunks[i].capacity() >= kChunkSize && chunks[i].capacity() < 2 * kChunkSize) {
      reusable.push_back(std::move(chunks[i]));
    }
  }
  chunks.resize(keep_first ? 1 : 0);
  if (keep_first && chunks[0].capacity() > 4 * kChunkSize) std::string().swap(chunks[0]);
  std::lock_guard lock(mutex_);
  for (auto& chunk : reusable) {
    if (free_chunks_.size() >= kPoolChunks) break;
    free_chunks_.push_back(std::move(chunk));
  }
}

void DiskQueue::recycle_range(Chunks& chunks, std::size_t begin, std::size_t end) {
  std::vector<std::string> reusable;
  for (std::size_t i = begin; i < end; ++i) {
    // Chunks made for one huge line are freed, not pooled.
    if (chunks[i].capacity() >= kChunkSize && chunks[i].capacity() < 2 * kChunkSize) {
      chunks[i].clear();
      reusable.push_back(std::move(chunks[i]));
    } else {
      std::string().swap(chunks[i]);
    }
  }
  if (reusable.empty()) return;
  std::lock_guard lock(mutex_);
  for (auto& chunk : reusable) {
    if (free_chunks_.size() >= kPoolChunks) break;
    free_chunks_.push_back(std::move(chunk));
  }
}

void DiskQueue::sync_all() {
  std::vector<std::pair<int, std::filesystem::path>> files;
  std::vector<std::filesystem::path> dirs;
  {
    std::lock_guard lock(mutex_);
    for (auto& slot : slots_) files.emplace_back(slot->fd, slot->file);
    dirs = sync_dirs_;
  }
  for (auto& [fd, file] : files) {
    // EINVAL/EROFS: a special file (a test's /dev/full, a pipe) that cannot be synced; not a loss.
    if (::fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
      note_failure(errno, "cannot fsync " + file.string(), {}, false);
  }
  for (auto& dir : dirs) {
    if (int err = detail::fsync_dir(dir); err != 0) note_failure(err, "cannot fsync " + dir.string(), {}, false);
  }
}

void DiskQueue::write_yaml(nlohmann::json meta) {
  // The title is the user's first prompt: it may hold a key as well.
  if (auto it = meta.find("title"); it != meta.end() && it->is_string()) {
    *it = redact_secrets(it->get<std::string>());
  }
  last_yaml_ = meta;
  meta["recording"] = recording_summary();
  int err = detail::atomic_write_file(task_dir_ / "task.yaml", detail::render_task_yaml(meta));
  if (err != 0) note_failure(err, "cannot rewrite " + (task_dir_ / "task.yaml").string(), {}, false);
}

nlohmann::json DiskQueue::recording_summary() const {
  std::uint64_t dropped = total_dropped_lines_.load(), dropped_bytes = total_dropped_bytes_.load();
  bool complete = total_lost_lines_ == 0 && total_lost_bytes_ == 0 && total_lost_log_bytes_ == 0 && dropped == 0 &&
                  dropped_bytes == 0;
  nlohmann::json r = {{"complete", complete}, {"records", total_records_.load()}};
  if (!complete) {
    r["lost_records"] = total_lost_lines_;
    r["lost_bytes"] = total_lost_bytes_ + total_lost_log_bytes_;
    r["dropped_records"] = dropped;
    r["dropped_bytes"] = dropped_bytes;
    r["write_errors"] = total_write_errors_.load();
  }
  return r;
}

void DiskQueue::note_failure(int err, const std::string& what, std::string_view lost, bool records) {
  total_write_errors_.fetch_add(1, std::memory_order_relaxed);
  Failure& f = unreported_failures_[err];
  ++f.failures;
  // Every lost record ends in its '\n' within `lost` (a torn one too: its tail is in it).
  std::size_t lines = records ? count_lines(lost) : 0;
  f.lines += lines;
  f.bytes += lost.size();
  total_lost_lines_ += lines;
  (records ? total_lost_bytes_ : total_lost_log_bytes_) += lost.size();
  // A full disk fails every write: log the first of each kind, count the rest.
  if (logged_errnos_.insert(err).second) {
    logger()->error("task recording: {}: {} (further errors of this kind are counted, not logged)", what,
                    std::strerror(err));
  }
}

}  // namespace coco::taskdir
