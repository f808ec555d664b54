// The ncurses side of `parley chat`: reads keys, carries out the model's
// commands with the Client, and copies RenderChat's frame to the screen.
// The UI thread never calls the Client: calls run on worker threads and
// client events arrive through a queue, so a slow server or a large file
// never freezes the screen.
#include "chat_command.h"

#include <langinfo.h>
#include <locale.h>
#include <ncurses.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "chat_model.h"
#include "daemon_connector.h"
#include "daemon_worker_pool.h"
#include "views.h"

namespace parley::cli {
namespace {

using namespace parley::client;
using chat::ChatCommand;
using chat::KeyKind;
using chat::KeyPress;

// Client events, queued by the receive thread for the UI thread. A new
// message comes with its attachment's description, and a changed one of
// ours in a group with its receipt summary, read on that thread.
struct QueuedEvent {
  Event event;
  std::optional<AttachmentInfo> attachment;
  std::string receipt_summary;
};

using EventQueue = HandoffQueue<QueuedEvent>;

// What a client call hands back to the UI thread: a change to the model.
using ModelUpdate = std::function<void(chat::ChatModel&)>;

// Bounded: past this many events the UI reloads from the store anyway; an
// update is a call's outcome, and at most kMaxWaitingCalls calls wait.
constexpr std::size_t kMaxHandedOff = 10'000;
constexpr std::size_t kMaxWaitingCalls = 64;

attr_t Attribute(chat::Style style) {
  switch (style) {
    case chat::Style::kBold:
      return A_BOLD;
    case chat::Style::kDim:
      return A_DIM;
    case chat::Style::kReverse:
    case chat::Style::kSelected:
      return A_REVERSE;
    case chat::Style::kAlert:
      return A_BOLD | A_UNDERLINE;
    default:
      return A_NORMAL;
  }
}

void Draw(const chat::ChatModel& model) {
  // The terminal's size is checked on every frame, not only on SIGWINCH,
  // which one of the client's threads may take before ncurses sees it.
  winsize size{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_row > 0 && size.ws_col > 0 &&
      is_term_resized(size.ws_row, size.ws_col)) {
    resizeterm(size.ws_row, size.ws_col);
  }
  int rows = 0, cols = 0;
  getmaxyx(stdscr, rows, cols);
  const auto frame = chat::RenderChat(model, rows, cols);
  erase();
  for (std::size_t r = 0; r < frame.rows.size(); ++r) {
    move(static_cast<int>(r), 0);
    for (const auto& span : frame.rows[r]) {
      attrset(Attribute(span.style));
      // The last cell of the last row would scroll the screen.
      if (static_cast<int>(r) == rows - 1) {
        int y = 0, x = 0;
        getyx(stdscr, y, x);
        (void)y;
        addnstr(span.text.c_str(), static_cast<int>(chat::FitWidth(span.text, cols - x - 1).size()));
      } else {
        addstr(span.text.c_str());
      }
    }
  }
  attrset(A_NORMAL);
  move(frame.cursor_row, std::min(frame.cursor_col, std::max(0, cols - 1)));
  refresh();
}

std::optional<KeyPress> ReadKey() {
  wint_t ch = 0;
  const int kind = get_wch(&ch);
  if (kind == ERR) return std::nullopt;
  if (kind == KEY_CODE_YES) {
    switch (ch) {
      case KEY_UP:
        return KeyPress{KeyKind::kUp, 0};
      case KEY_DOWN:
        return KeyPress{KeyKind::kDown, 0};
      case KEY_PPAGE:
        return KeyPress{KeyKind::kPageUp, 0};
      case KEY_NPAGE:
        return KeyPress{KeyKind::kPageDown, 0};
      case KEY_BACKSPACE:
        return KeyPress{KeyKind::kBackspace, 0};
      case KEY_ENTER:
        return KeyPress{KeyKind::kEnter, 0};
      default:
        // KEY_RESIZE and the rest: redrawn at the current size.
        return KeyPress{KeyKind::kOther, 0};
    }
  }
  if (ch == '\n' || ch == '\r') return KeyPress{KeyKind::kEnter, 0};
  if (ch == 127 || ch == 8) return KeyPress{KeyKind::kBackspace, 0};
  if (ch == 27) return KeyPress{KeyKind::kEscape, 0};
  if (ch >= 1 && ch <= 26) return KeyPress{KeyKind::kCtrl, static_cast<char32_t>('a' + ch - 1)};
  return KeyPress{KeyKind::kChar, static_cast<char32_t>(ch)};
}

// A path as typed: "~/" is the home directory, as in a shell.
std::string ExpandHome(const std::string& path) {
  const char* home = std::getenv("HOME");
  if (path.rfind("~/", 0) == 0 && home != nullptr && *home == '/') return home + path.substr(1);
  return path;
}

std::string FailureText(const ClientError& e) {
  return "! " + std::string(e.message) + " (" + std::string(ClientErrcName(e.code)) + ")";
}

// Carries out the model's commands: every client call runs on a worker (file
// transfers on their own, so a large file does not hold up messages), and
// its outcome comes back to the UI thread as a ModelUpdate.
class ChatSession {
 public:
  ChatSession(Client& client, HandoffQueue<ModelUpdate>& updates) : client_(client), updates_(updates) {}

  void ReloadConversations() {
    // One reload waiting is enough: it reads the latest state when it runs.
    if (reload_queued_.exchange(true)) return;
    Call([this] {
      reload_queued_ = false;
      auto list = client_.Conversations();
      auto contacts = client_.Contacts();
      auto groups = client_.Groups();
      std::map<std::string, std::string> names;
      if (contacts) {
        for (const auto& c : *contacts) names[c.account.value().ToString()] = c.username;
      }
      if (auto self = client_.account()) names[self->account.value().ToString()] = self->username;
      return [list = std::move(list), names = std::move(names),
              groups = std::move(groups)](chat::ChatModel& model) mutable {
        if (list) model.SetConversations(*list);
        model.SetNames(std::move(names));
        if (groups) model.SetGroups(*groups);
      };
    });
  }

  void OpenConversation(const ConversationId& id) {
    Call([this, id]() -> ModelUpdate {
      auto history = client_.History(id, 500);
      if (!history) return Status(FailureText(history.error()));
      std::vector<AttachmentInfo> attachments;
      std::map<MessageId, std::string> summaries;
      for (const auto& m : *history) {
        if (auto a = client_.GetAttachment(m.id); a && *a) attachments.push_back(**a);
        if (auto summary = cli::GroupReceiptSummary(client_, m); !summary.empty()) summaries[m.id] = summary;
      }
      (void)client_.MarkRead(id);
      return [id, history = std::move(*history), attachments = std::move(attachments),
              summaries = std::move(summaries)](chat::ChatModel& model) {
        model.SetHistory(id, history);
        for (const auto& a : attachments) model.SetAttachment(a);
        for (const auto& [message, summary] : summaries) model.SetReceiptSummary(message, summary);
      };
    });
    ReloadConversations();
  }

  void MarkRead(const ConversationId& id) {
    Call([this, id]() -> ModelUpdate {
      (void)client_.MarkRead(id);
      return nullptr;
    });
  }

  void Expire() {
    if (!calls_.idle()) return;
    Call([this]() -> ModelUpdate {
      auto expired = client_.ExpireMessages();
      if (!expired || *expired == 0) return nullptr;
      return [this](chat::ChatModel& model) {
        if (model.open()) OpenConversation(*model.open());
      };
    });
  }

  // Returns false to quit.
  bool Run(chat::ChatModel& ui, const ChatCommand& command) {
    using Kind = ChatCommand::Kind;
    const ConversationId conversation = command.conversation;
    switch (command.kind) {
      case Kind::kNone:
        return true;
      case Kind::kQuit:
        return false;
      case Kind::kOpen:
        OpenConversation(conversation);
        return true;
      case Kind::kSend:
        ui.SetStatus("sending...");
        Call([this, conversation, text = command.text]() -> ModelUpdate {
          auto sent = store::GroupIdOf(conversation) ? client_.SendGroupText(conversation, text)
                                                     : client_.SendText(conversation, text);
          if (!sent) return Status(FailureText(sent.error()));
          // A group message shows "delivered to 0 of N" from the start.
          std::string summary = cli::GroupReceiptSummary(client_, *sent);
          return [sent = std::move(*sent), summary = std::move(summary)](chat::ChatModel& model) {
            model.SetStatus("");
            // A receipt may have overtaken this update: its summary is newer.
            if (!summary.empty() && model.receipt_summary(sent.id).empty())
              model.SetReceiptSummary(sent.id, summary);
            model.AddOutgoing(sent);
          };
        });
        ReloadConversations();
        return true;
      case Kind::kTyping:
        // Best effort: a typing indicator that does not go out is no error.
        Call([this, conversation, typing = command.typing]() -> ModelUpdate {
          (void)client_.SendTyping(conversation, typing);
          return nullptr;
        });
        return true;
      case Kind::kAccept:
        CallThenReload(
            [this, conversation] { return Done(client_.AcceptRequest(conversation), "request accepted"); });
        return true;
      case Kind::kBlock:
        CallThenReload([this, conversation] { return Done(client_.Block(conversation), "blocked"); });
        return true;
      case Kind::kShowSafety:
      case Kind::kMarkVerified:
        Call([this, conversation, mark = command.kind == Kind::kMarkVerified]() -> ModelUpdate {
          if (mark) {
            if (auto done = client_.MarkVerified(conversation); !done)
              return Status(FailureText(done.error()));
          }
          auto number = client_.GetSafetyNumber(conversation);
          if (!number) return Status(FailureText(number.error()));
          return [conversation, number = std::move(*number)](chat::ChatModel& model) {
            model.SetSafetyNumber(conversation, number);
          };
        });
        return true;
      case Kind::kNewConversation:
        Call([this, username = command.text]() -> ModelUpdate {
          auto contact = client_.AddContact(username);
          if (!contact) return Status(FailureText(contact.error()));
          const ConversationId id = contact->account.value().ToString();
          return [this, id, title = contact->username](chat::ChatModel& model) {
            model.Open(id, title);
            model.SetStatus("");
            OpenConversation(id);
          };
        });
        return true;
      case Kind::kAttach:
        ui.SetStatus("sending " + chat::SanitizeForTerminal(command.text, ui.unicode()) + "...");
        Transfer([this, conversation, path = ExpandHome(command.text)]() -> ModelUpdate {
          auto sent = client_.SendAttachment(conversation, path);
          if (!sent) return Status(FailureText(sent.error()));
          auto attachment = client_.GetAttachment(sent->id);
          std::string summary = cli::GroupReceiptSummary(client_, *sent);
          return [sent = std::move(*sent), attachment = attachment ? *attachment : std::nullopt,
                  summary = std::move(summary)](chat::ChatModel& model) {
            if (attachment) model.SetAttachment(*attachment);
            // A receipt may have overtaken this update: its summary is newer.
            if (!summary.empty() && model.receipt_summary(sent.id).empty())
              model.SetReceiptSummary(sent.id, summary);
            model.AddOutgoing(sent);
            model.SetStatus("file sent");
          };
        });
        return true;
      case Kind::kSave:
        if (!command.message) return true;
        ui.SetStatus("fetching the file...");
        Transfer([this, message = *command.message, destination = ExpandHome(command.text)]() -> ModelUpdate {
          auto got = client_.DownloadAttachment(message);
          if (!got) return Status(FailureText(got.error()));
          std::string where = got->path;
          if (!destination.empty()) {
            std::error_code ec;
            std::filesystem::path to = destination;
            // Into a folder: under the name it is kept by.
            if (std::filesystem::is_directory(to, ec)) to /= std::filesystem::path(got->path).filename();
            std::filesystem::copy_file(got->path, to, std::filesystem::copy_options::overwrite_existing, ec);
            if (ec)
              return Status("! the file verified, but cannot be copied to " + to.string() + ": " +
                            ec.message());
            where = to.string();
          }
          return [got = std::move(*got), where](chat::ChatModel& model) {
            model.SetAttachment(got);
            model.SetStatus("saved " + chat::SanitizeForTerminal(got.file_name, model.unicode()) + " to " +
                            chat::SanitizeForTerminal(where, model.unicode()));
          };
        });
        return true;
      case Kind::kGroupCreate:
        GroupChange([this, name = command.text,
                     members = command.args] { return client_.CreateGroup(name, members); },
                    true);
        return true;
      case Kind::kGroupAdd:
        GroupChange([this, conversation, members = command.args] {
          return client_.AddGroupMembers(conversation, members);
        });
        return true;
      case Kind::kGroupRemove:
        GroupChange([this, conversation, members = command.args] {
          return client_.RemoveGroupMembers(conversation, members);
        });
        return true;
      case Kind::kGroupAdmin:
        GroupChange([this, conversation, members = command.args] {
          return client_.AddGroupAdmins(conversation, members);
        });
        return true;
      case Kind::kGroupUnadmin:
        GroupChange([this, conversation, members = command.args] {
          return client_.RemoveGroupAdmins(conversation, members);
        });
        return true;
      case Kind::kGroupRename:
        GroupChange(
            [this, conversation, name = command.text] { return client_.RenameGroup(conversation, name); });
        return true;
      case Kind::kGroupLeave:
        CallThenReload(
            [this, conversation] { return Done(client_.LeaveGroup(conversation), "left the group"); });
        return true;
    }
    return true;
  }

 private:
  static ModelUpdate Status(std::string text) {
    return [text = std::move(text)](chat::ChatModel& model) { model.SetStatus(text); };
  }
  static ModelUpdate Done(const ClientStatus& done, std::string text) {
    return Status(done ? std::move(text) : FailureText(done.error()));
  }

  // Runs `call` on the worker; the update it returns (if any) goes to the UI.
  void Call(std::function<ModelUpdate()> call) { Post(calls_, std::move(call)); }
  void Transfer(std::function<ModelUpdate()> call) { Post(transfers_, std::move(call)); }
  void CallThenReload(std::function<ModelUpdate()> call) {
    Call(std::move(call));
    ReloadConversations();
  }
  void Post(WorkerPool& worker, std::function<ModelUpdate()> call) {
    const bool queued = worker.Post([this, call = std::move(call)] {
      if (auto update = call()) updates_.Push(std::move(update));
    });
    if (!queued) updates_.Push(Status("! busy: too many requests waiting; try again"));
  }

  // A group made or changed: shown and opened.
  void GroupChange(std::function<ClientResult<Group>()> change, bool open = false) {
    Call([this, change = std::move(change), open]() -> ModelUpdate {
      auto group = change();
      if (!group) return Status(FailureText(group.error()));
      const ConversationId id = store::GroupConversation(group->id);
      return [this, id, open, group = std::move(*group)](chat::ChatModel& model) {
        model.Apply(GroupChanged{group, {}});
        if (open) {
          model.Open(id, group.name);
          OpenConversation(id);
        }
        model.SetStatus("group " + chat::SanitizeForTerminal(group.name, model.unicode()) + " updated");
      };
    });
    ReloadConversations();
  }

  Client& client_;
  HandoffQueue<ModelUpdate>& updates_;
  std::atomic<bool> reload_queued_{false};
  // Declared last: stopped first, while everything they use still exists.
  // One thread each: calls run in the order they were asked for.
  WorkerPool calls_{1, kMaxWaitingCalls};
  WorkerPool transfers_{1, kMaxWaitingCalls};
};

std::int64_t SteadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int RunChat(Client& client) {
  auto account = client.account();
  if (!account) {
    std::cerr << "parley: register or link this profile first (not_registered)\n";
    return kExitNotRegistered;
  }
  setlocale(LC_ALL, "");
  const bool unicode = std::string_view(nl_langinfo(CODESET)) == "UTF-8";
  chat::ChatModel model(account->username, unicode);
  EventQueue events(kMaxHandedOff);
  // Called on the client's receive thread: only queues, for the UI thread.
  client.SetEventHandler([&events, &client](const Event& e) {
    QueuedEvent queued{e, std::nullopt, {}};
    if (const auto* m = std::get_if<MessageReceived>(&e)) {
      if (auto a = client.GetAttachment(m->message.id); a && *a) queued.attachment = **a;
    } else if (const auto* u = std::get_if<MessageUpdated>(&e)) {
      queued.receipt_summary = cli::GroupReceiptSummary(client, u->message);
    }
    events.Push(std::move(queued));
  });

  if (initscr() == nullptr) return kExitError;
  raw();
  noecho();
  keypad(stdscr, TRUE);
  set_escdelay(25);
  timeout(100);

  {
    HandoffQueue<ModelUpdate> updates(kMaxHandedOff);
    ChatSession session(client, updates);
    // Before connecting nothing else holds the client: the list loads at once.
    if (auto list = client.Conversations()) model.SetConversations(*list);
    session.ReloadConversations();
    if (!model.conversations().empty()) {
      const auto first = model.conversations().front();
      model.Open(first.id, first.title);
      session.OpenConversation(first.id);
    }
    Connector connector(client);
    auto last_expiry = std::chrono::steady_clock::now();
    bool running = true;
    while (running) {
      model.SetConnected(client.connected());
      if (auto due = model.Tick(SteadyMillis()); due.kind != ChatCommand::Kind::kNone)
        session.Run(model, due);
      for (auto& update : updates.Take()) update(model);
      bool reload = false;
      for (auto& queued : events.Take()) {
        if (queued.attachment) model.SetAttachment(*queued.attachment);
        if (const auto* u = std::get_if<MessageUpdated>(&queued.event); u && !queued.receipt_summary.empty())
          model.SetReceiptSummary(u->message.id, queued.receipt_summary);
        reload = model.Apply(queued.event) || reload;
        if (const auto* m = std::get_if<MessageReceived>(&queued.event);
            m != nullptr && model.open() == m->message.conversation) {
          session.MarkRead(m->message.conversation);
          reload = true;
        }
      }
      if (reload) session.ReloadConversations();
      if (std::chrono::steady_clock::now() - last_expiry > std::chrono::seconds(1)) {
        last_expiry = std::chrono::steady_clock::now();
        session.Expire();
      }
      Draw(model);
      if (auto key = ReadKey()) running = session.Run(model, model.HandleKey(*key));
    }
    endwin();
    // The connector and then the session's workers stop here, after the
    // screen is restored; the workers finish the call in progress.
  }
  client.SetEventHandler([](const Event&) {});
  client.Disconnect();
  return kExitOk;
}

}  // namespace

void AddChatCommand(Cli& cli) {
  auto* chat = cli.app.add_subcommand(
      "chat", "Terminal chat: conversations, messages, requests, safety numbers (Ctrl-Q quits, /help)");
  cli.On(chat, [](Client& client) { return RunChat(client); });
}

}  // namespace parley::cli
