#pragma once
// The one background thread that does all disk I/O of a task directory. Internal to taskdir/.
//
// Producers (the event loop, any thread) append a ready-made line to the file's pending chunks under
// a mutex and return; they never touch the disk and, in the steady state, never allocate: chunks have a
// fixed capacity and are recycled (a growing string would page-fault fresh memory on every burst). The
// thread takes the chunks, redacts, and writes each file's chunks with writev() (O_APPEND), a group of
// about 1 MiB at a time whose room in the bound is given back as soon as it is written. A line
// never spans two chunks, so a line is never split between writes and the lines of a file keep their
// order.

#include "taskdir/task_writer.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace coco::taskdir {

class DiskQueue {
 public:
  DiskQueue(std::filesystem::path task_dir, int events_fd, std::size_t max_queued_bytes);
  ~DiskQueue();  // finish()
  DiskQueue(const DiskQueue&) = delete;
  DiskQueue& operator=(const DiskQueue&) = delete;

  // Producers name a file by the id adopt_fd gave it, never by its fd: once a file is closed its fd
  // number may be reused by another file, and a late record must not land there.
  using SlotId = std::uint64_t;

  // The queue owns every fd it is given (and events_fd): it fsyncs them on sync and closes them at
  // finish, or at close_slot. `jsonl` files get records, the others (stderr.log) plain bytes.
  // Directories given to add_sync_dir are fsynced too, so that new files survive a crash.
  SlotId adopt_fd(int fd, std::filesystem::path file, bool jsonl);
  // Writes what is queued for the file, fsyncs and closes it (a finished worker's files: a long
  // session must not keep one pair of fds per worker). Later pushes to it are ignored.
  void close_slot(SlotId slot);
  void add_sync_dir(std::filesystem::path dir);
  // The seq of the last event already in events.jsonl (a continued task); before start().
  void set_event_seq(std::uint64_t last) { event_seq_ = last; }
  void start();

  // A JSONL record: written as `{"seq":N,` + body, N = ++*seq taken under the queue lock so that seq
  // order is file order even with several producer threads. `body` must be one line ending in '\n'.
  // Dropped when the queue is full; the seq is used up all the same, so a gap in seq marks the drop.
  void push_record(SlotId slot, std::uint64_t* seq, std::string_view body);
  // The same for a body given in pieces (concatenated into the chunk directly: one copy of each byte).
  void push_record(SlotId slot, std::uint64_t* seq, std::initializer_list<std::string_view> body);
  // Bytes for a plain log (stderr.log), written by whole lines so that redaction sees whole lines.
  void push_stderr(SlotId slot, std::string_view bytes);
  // A task event body (`"ts":...}\n`); never dropped: they are few and the task's history depends
  // on them. Its seq is given by the disk thread, the only writer of events.jsonl.
  void push_event(std::string body);
  // task.yaml content; only the newest one queued is written (coalesced rewrites).
  void push_task_yaml(nlohmann::json meta);
  void request_sync();
  // Writes everything queued, fsyncs, closes the files and stops the thread. Later pushes are ignored.
  void finish();

  WriterStats stats() const;

  // Backpressure for producers that can wait (the bridge reading codex): congested() turns true when
  // the backlog reaches `pause_above` bytes and false again once the disk thread has brought it down
  // to `resume_below`; at that moment the disk thread calls `on_relieved` (which must only hand the
  // news to its own thread). Producers that cannot wait still meet the hard bound and drop.
  void set_backpressure_marks(std::size_t pause_above, std::size_t resume_below);
  // nullptr stops the calls: when it returns, none is running and none will come.
  void set_on_relieved(std::function<void()> on_relieved);
  bool congested() const { return congested_.load(std::memory_order_relaxed); }

 private:
  using Chunks = std::vector<std::string>;  // each string's capacity is fixed once taken from the pool
  struct Slot {                             // one open file
    SlotId id;
    int fd;
    std::filesystem::path file;
    bool jsonl;
    Chunks pending;       // mutex_: what producers appended since the last batch
    Chunks writing;       // disk thread: the batch being written
    std::string partial;  // disk thread, plain logs: the unfinished last line
    bool torn = false;    // disk thread: the last write stopped mid-line
    bool closing = false; // mutex_: close_slot was called; no more pushes
  };
  enum class Kind : std::uint8_t { kEvent, kDropped, kSync, kClose };
  struct Op {  // events.jsonl and control, in order
    Kind kind;
    std::uint64_t lines = 0, bytes = 0;  // kDropped
    std::string body;                    // kEvent: the body; kDropped: the timestamp
  };
  enum class State : std::uint8_t { kBusy, kIdle, kGathering };

  // Producer side (mutex_ held).
  Slot* find_slot_locked(SlotId id);  // nullptr for a closed or closing file
  // The chunk to append `size` bytes to (a new one from the pool when the last one is full).
  std::string& chunk_for_locked(Slot& slot, std::size_t size);
  bool admit_locked(std::size_t cost, std::size_t payload, bool bounded, bool counts_as_line);
  bool wake_locked(bool urgent);

  // Disk thread.
  void run();
  void append_event(std::string_view body);
  void report_write_failures();
  void write_slot(Slot& slot, bool flush_partial);
  void close_file(Slot& slot);  // fsync and close; the slot is removed by the caller
  void write_records(Slot& slot);
  // Gives `cost` of the batch being written back to the queue bound (at most what is left of it).
  void release(std::size_t cost);
  void recycle_range(Chunks& chunks, std::size_t begin, std::size_t end);
  void write_chunks(Slot& slot, const std::vector<std::string_view>& parts);
  void recycle(Chunks& chunks);
  void sync_all();
  void write_yaml(nlohmann::json meta);
  // What was lost: `lost` is the data that did not make it; its lines count as records for JSONL files.
  void note_failure(int err, const std::string& what, std::string_view lost, bool records);
  // task.yaml's `recording` block: complete, or what is missing (disk thread).
  nlohmann::json recording_summary() const;
  // After the last batch: when writes failed, frees the reserve so that the final report and task.yaml
  // fit on a full disk, and writes them once more.
  void settle_after_failures();

  const std::filesystem::path task_dir_;
  const int events_fd_;
  const std::size_t max_bytes_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Slot>> slots_;  // slots_[0] is events.jsonl
  SlotId next_slot_id_ = 1;                   // 0 is events.jsonl
  std::vector<std::filesystem::path> sync_dirs_;
  std::vector<Op> ops_;
  Chunks free_chunks_;
  std::size_t pending_bytes_ = 0;  // appended since the last batch
  std::size_t queued_bytes_ = 0;   // pending + being written: what the bound limits
  State state_ = State::kBusy;
  bool urgent_ = false;  // a sync is waiting: skip the gathering pause
  bool closed_ = false;
  std::optional<nlohmann::json> yaml_meta_;
  std::uint64_t dropped_lines_ = 0, dropped_bytes_ = 0;  // since the last recording.dropped
  std::thread thread_;
  std::once_flag finish_once_;

  std::atomic<std::uint64_t> total_dropped_lines_{0}, total_dropped_bytes_{0}, total_write_errors_{0};
  std::atomic<std::uint64_t> total_records_{0};  // every record line ever given to the queue, events included
  // Disk thread: what failed writes lost, since the start.
  std::uint64_t total_lost_lines_ = 0, total_lost_bytes_ = 0, total_lost_log_bytes_ = 0;
  std::optional<nlohmann::json> last_yaml_;  // disk thread: the newest task.yaml content
  // A small file made at the start and deleted at the end, or earlier when the disk is full: its
  // room lets the final report and task.yaml land on a disk that writes filled up.
  std::filesystem::path reserve_file_;

  // Backpressure: the marks are set before producers start; congested_ is set by producers (mutex_
  // held) and cleared by the disk thread.
  std::size_t pause_above_ = 0, resume_below_ = 0;  // 0: no backpressure
  std::atomic<bool> congested_{false};
  std::mutex relieved_mutex_;  // guards on_relieved_ and its calls
  std::function<void()> on_relieved_;

  // Disk thread only.
  Slot* events_slot_ = nullptr;
  std::size_t batch_cost_left_ = 0;  // of the batch being written: not yet given back to the bound
  double cost_per_byte_ = 0;         // the batch's cost per byte of chunk
  std::uint64_t event_seq_ = 0;
  struct Failure {  // write errors of one errno not yet reported in events.jsonl
    std::uint64_t failures = 0, lines = 0, bytes = 0;
  };
  std::map<int, Failure> unreported_failures_;
  std::set<int> logged_errnos_;
};

}  // namespace coco::taskdir
