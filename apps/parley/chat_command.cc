// The ncurses side of `parley chat`: reads keys, carries out the model's
// commands with the Client, and copies RenderChat's frame to the screen.
#include "chat_command.h"

#include <langinfo.h>
#include <locale.h>
#include <ncurses.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <iostream>
#include <mutex>

#include "chat_model.h"
#include "daemon_connector.h"

namespace parley::cli {
namespace {

using namespace parley::client;
using chat::ChatCommand;
using chat::KeyKind;
using chat::KeyPress;

// Client events, queued by the receive thread for the UI thread.
class EventQueue {
 public:
  void Push(const Event& e) {
    std::lock_guard lock(mutex_);
    // Bounded: past this the UI reloads from the store anyway.
    if (events_.size() < 10'000) events_.push_back(e);
  }
  std::deque<Event> Take() {
    std::lock_guard lock(mutex_);
    std::deque<Event> out;
    out.swap(events_);
    return out;
  }

 private:
  std::mutex mutex_;
  std::deque<Event> events_;
};

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

class ChatSession {
 public:
  ChatSession(Client& client, chat::ChatModel& model) : client_(client), model_(model) {}

  void ReloadConversations() {
    if (auto list = client_.Conversations()) model_.SetConversations(*list);
  }

  void OpenConversation(const ConversationId& id) {
    auto history = client_.History(id, 500);
    if (!history) {
      model_.SetStatus("! " + std::string(history.error().message));
      return;
    }
    model_.SetHistory(id, std::move(*history));
    (void)client_.MarkRead(id);
    ReloadConversations();
  }

  void Fail(const ClientError& e) {
    model_.SetStatus("! " + std::string(e.message) + " (" + std::string(ClientErrcName(e.code)) + ")");
  }

  // Returns false to quit.
  bool Run(const ChatCommand& command) {
    switch (command.kind) {
      case ChatCommand::Kind::kNone:
        return true;
      case ChatCommand::Kind::kQuit:
        return false;
      case ChatCommand::Kind::kOpen:
        OpenConversation(command.conversation);
        return true;
      case ChatCommand::Kind::kSend: {
        model_.SetStatus("sending...");
        auto sent = store::GroupIdOf(command.conversation)
                        ? client_.SendGroupText(command.conversation, command.text)
                        : client_.SendText(command.conversation, command.text);
        if (!sent) {
          Fail(sent.error());
          return true;
        }
        model_.SetStatus("");
        model_.AddOutgoing(*sent);
        ReloadConversations();
        return true;
      }
      case ChatCommand::Kind::kAccept: {
        if (auto done = client_.AcceptRequest(command.conversation); !done) {
          Fail(done.error());
        } else {
          model_.SetStatus("request accepted");
        }
        ReloadConversations();
        return true;
      }
      case ChatCommand::Kind::kBlock: {
        if (auto done = client_.Block(command.conversation); !done) {
          Fail(done.error());
        } else {
          model_.SetStatus("blocked");
        }
        ReloadConversations();
        return true;
      }
      case ChatCommand::Kind::kShowSafety:
      case ChatCommand::Kind::kMarkVerified: {
        if (command.kind == ChatCommand::Kind::kMarkVerified) {
          if (auto done = client_.MarkVerified(command.conversation); !done) {
            Fail(done.error());
            return true;
          }
        }
        auto number = client_.GetSafetyNumber(command.conversation);
        if (!number) {
          Fail(number.error());
        } else {
          model_.SetSafetyNumber(command.conversation, *number);
        }
        return true;
      }
      case ChatCommand::Kind::kNewConversation: {
        auto contact = client_.AddContact(command.text);
        if (!contact) {
          Fail(contact.error());
          return true;
        }
        const ConversationId id = contact->account.value().ToString();
        model_.Open(id, contact->username);
        OpenConversation(id);
        model_.SetStatus("");
        return true;
      }
    }
    return true;
  }

 private:
  Client& client_;
  chat::ChatModel& model_;
};

int RunChat(Client& client) {
  auto account = client.account();
  if (!account) {
    std::cerr << "parley: register or link this profile first (not_registered)\n";
    return kExitNotRegistered;
  }
  setlocale(LC_ALL, "");
  const bool unicode = std::string_view(nl_langinfo(CODESET)) == "UTF-8";
  chat::ChatModel model(account->username, unicode);
  ChatSession session(client, model);
  EventQueue events;
  client.SetEventHandler([&events](const Event& e) { events.Push(e); });

  if (initscr() == nullptr) return kExitError;
  raw();
  noecho();
  keypad(stdscr, TRUE);
  set_escdelay(25);
  timeout(100);

  session.ReloadConversations();
  if (!model.conversations().empty()) {
    const auto first = model.conversations().front();
    model.Open(first.id, first.title);
    session.OpenConversation(first.id);
  }
  {
    Connector connector(client);
    auto last_expiry = std::chrono::steady_clock::now();
    bool running = true;
    while (running) {
      model.SetConnected(client.connected());
      bool reload = false;
      for (const auto& e : events.Take()) {
        reload = model.Apply(e) || reload;
        if (const auto* m = std::get_if<MessageReceived>(&e);
            m != nullptr && model.open() == m->message.conversation) {
          (void)client.MarkRead(m->message.conversation);
          reload = true;
        }
      }
      if (reload) session.ReloadConversations();
      if (std::chrono::steady_clock::now() - last_expiry > std::chrono::seconds(1)) {
        last_expiry = std::chrono::steady_clock::now();
        if (auto expired = client.ExpireMessages(); expired && *expired > 0 && model.open())
          session.OpenConversation(*model.open());
      }
      Draw(model);
      if (auto key = ReadKey()) running = session.Run(model.HandleKey(*key));
    }
    endwin();
    // The connector stops (and joins) here, after the screen is restored.
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
