// Coding agents (`coding_agent`): many accounts of one product share its long
// system prompt, tool schema and user agent; each developer works office
// hours in their own time zone; each task is an agent loop whose context
// grows with tool calls and tool results (file contents, test logs), so
// lines reach hundreds of KiB.
#include <algorithm>

#include "pop_common.hpp"

namespace gen {

namespace {

struct Product {
  std::string name;
  std::string system_prompt;             // raw text
  std::string tools_json;                // rendered "tools" array
  std::vector<std::string> user_agents;  // versions/platforms; the first dominates
  std::string_view model;
};

constexpr std::string_view kToolNames[] = {"read_file",   "edit_file", "run_terminal_command",
                                           "grep_search", "list_dir",  "write_file"};

Product make_product(Rng& rng, int index) {
  static constexpr std::string_view kNames[] = {"CodePilot",  "DevMate",    "Forge",
                                                "Tessellate", "Shipwright", "Patchwork"};
  Product p;
  p.name = std::string(kNames[index % 6]);
  std::string& s = p.system_prompt;
  s = "You are " + p.name +
      ", an autonomous AI coding assistant that operates in the user's IDE. You pair-program "
      "with the USER to solve their coding task. The task may require creating a new codebase, modifying or "
      "debugging an existing codebase, or simply answering a question.\n\n<tool_calling>\nYou have tools at "
      "your "
      "disposal to solve the coding task. Follow these rules regarding tool calls:\n1. ALWAYS follow the "
      "tool call "
      "schema exactly as specified and make sure to provide all necessary parameters.\n2. NEVER refer to "
      "tool names "
      "when speaking to the USER.\n3. Only call tools when they are "
      "necessary.\n</tool_calling>\n\n<making_code_changes>\n";
  for (int i = 0; i < 14; ++i) {
    s += std::to_string(i + 1);
    s += ". ";
    sentence(rng, s);
    s += ' ';
    sentence(rng, s);
    s += '\n';
  }
  s += "</making_code_changes>\n\n<debugging>\n";
  paragraphs(rng, s, 3);
  s += "\n</debugging>\n\n<style>\nPrefer small, reviewable diffs. Match the existing code style. Use the "
       "project's test runner. Never commit secrets; never print the contents of .env files.\n</style>\n\n"
       "<user_info>\nThe user's OS is described by the client. Today's date is provided in each "
       "turn.\n</user_info>";
  // Tools schema (shared verbatim by every account of the product).
  std::string& t = p.tools_json;
  t.clear();
  t.push_back('[');
  for (size_t i = 0; i < std::size(kToolNames); ++i) {
    if (i) t += ',';
    t += "{\"type\":\"function\",\"function\":{\"name\":\"";
    t += kToolNames[i];
    t += "\",\"description\":";
    std::string d;
    sentence(rng, d);
    d += ' ';
    sentence(rng, d);
    append_json_string(t, d);
    t += ",\"parameters\":{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\",\"description\":"
         "\"Path relative to the workspace "
         "root.\"},\"explanation\":{\"type\":\"string\"}},\"required\":[\"path\"]}}}";
  }
  t += "]";
  const int major = static_cast<int>(rng.range(0, 3));
  for (int v = 0; v < 4; ++v) {
    static constexpr std::string_view kPlat[] = {"darwin; arm64", "win32; x64", "linux; x64", "darwin; x64"};
    std::string ua = p.name + "/" + std::to_string(major) + "." + std::to_string(rng.range(1, 30)) + "." +
                     std::to_string(rng.range(0, 9)) + " (" + std::string(kPlat[v]) + ") node/20.18.0";
    p.user_agents.push_back(std::move(ua));
  }
  static constexpr std::string_view kModels[] = {"gpt-4.1", "o4-mini", "gpt-4.1", "o3"};
  p.model = rng.pick(kModels);
  return p;
}

class AgentActor final : public Actor {
 public:
  AgentActor(Identity id, std::shared_ptr<const Product> product, double per_day, int tz, Rng rng,
             int64_t from, int64_t to)
      : id_(std::move(id)), keep_(std::move(product)), product_(*keep_), rng_(rng), to_(to) {
    const double mean_steps = 12;
    tasks_ = Arrivals(per_day / mean_steps, Curves::office(), tz, from, to, rng_, 0.15);
    system_ = render_message("system", product_.system_prompt, id_.content);
    next_ms_ = tasks_.next(from, rng_);
    context_cap_ = static_cast<size_t>(rng_.lognormal_int(80000, 0.6, 30000, 520000));
  }

  void emit(Request& req) override {
    const Grammar& g = Grammar::get();
    const int64_t t = next_ms_;
    id_.stamp(req, rng_);
    req.model = product_.model;
    if (steps_left_ == 0) {
      history_.clear();
      bytes_ = 0;
      big_ = false;
      steps_left_ = static_cast<int>(rng_.lognormal_int(9, 0.6, 2, 60));
      std::string task = "<user_query>\n";
      g.expand("agent_task", rng_, task);
      task += "\n</user_query>\n<additional_data>\nOpen file: ";
      repo_path(rng_, task);
      if (rng_.chance(0.03)) {
        // The user attached a whole large file or log: a huge first context.
        task += "\nAttached file contents:\n";
        source_file(rng_, task, static_cast<size_t>(rng_.lognormal_int(150000, 0.5, 60000, 600000)));
        steps_left_ = static_cast<int>(rng_.range(2, 6));
        big_ = true;
      }
      task += "\n</additional_data>";
      push(render_message("user", task, id_.content));
    } else {
      step();
    }
    MessagesBuilder mb(req);
    mb.add(system_);
    for (const auto& m : history_) mb.add(m);
    mb.finish();
    req.prompt_tokens += static_cast<int>(product_.tools_json.size() / 4);
    req.tools = product_.tools_json;
    req.stream = 1;
    req.max_tokens = 8192;
    if (rng_.chance(0.5)) req.temperature_c = 20;
    pending_tool_ = !rng_.chance(0.15);
    req.completion_tokens = pending_tool_ ? completion_tokens(rng_, 90, 0.6, 15, 800)
                                          : completion_tokens(rng_, 350, 0.7, 30, 3000);
    response_head(rng_, req.response_text, pending_tool_ ? 3 : 0);
    --steps_left_;
    if (bytes_ > context_cap_ && !big_) steps_left_ = 0;
    if (steps_left_ > 0) {
      next_ms_ = t + rng_.range(1500, 25000) + (rng_.chance(0.1) ? rng_.range(20000, 300000) : 0);
      if (next_ms_ >= to_) next_ms_ = kNever;
    } else {
      next_ms_ = tasks_.next(t, rng_);
    }
  }

 private:
  void push(RenderedMessage m) {
    bytes_ += m.json.size();
    history_.push_back(std::move(m));
  }

  // Append the previous model turn (a tool call, or text) and what followed it.
  void step() {
    const Grammar& g = Grammar::get();
    if (!pending_tool_) {
      std::string text;
      g.expand("agent_note", rng_, text);
      push(render_message("assistant", text, id_.content));
      std::string follow;
      g.expand("agent_followup", rng_, follow);
      push(render_message("user", follow, id_.content));
      return;
    }
    const size_t tool = rng_.below(std::size(kToolNames));
    std::string call_id = "call_";
    static constexpr char kAlnum[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    for (int i = 0; i < 24; ++i) call_id += kAlnum[rng_.below(62)];
    std::string path;
    repo_path(rng_, path);
    std::string args = "{\"path\":\"" + path + "\",\"explanation\":\"";
    g.expand("agent_note", rng_, args);
    args += "\"}";
    RenderedMessage call;
    call.json = "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"" + call_id +
                "\",\"type\":\"function\",\"function\":{\"name\":\"" + std::string(kToolNames[tool]) +
                "\",\"arguments\":";
    append_json_string(call.json, args, id_.content.escape);
    call.json += "}}]}";
    call.tokens = approx_tokens(args) + 10;
    push(std::move(call));
    std::string result;
    switch (tool) {
      case 0:
      case 5:
        source_file(rng_, result, static_cast<size_t>(rng_.lognormal_int(1800, 0.9, 200, 90000)));
        break;
      case 1:
        result = "The edit was applied. Diff:\n@@ -12,7 +12,9 @@\n";
        source_file(rng_, result, static_cast<size_t>(rng_.range(200, 1500)));
        break;
      case 2:
        test_output(rng_, result);
        break;
      case 3:
        grep_output(rng_, result, "validate_email");
        break;
      default:
        dir_listing(rng_, result);
    }
    RenderedMessage res;
    res.json = "{\"role\":\"tool\",\"tool_call_id\":\"" + call_id + "\",\"content\":";
    append_json_string(res.json, result, id_.content.escape);
    res.json += '}';
    res.tokens = approx_tokens(result);
    push(std::move(res));
  }

  Identity id_;
  std::shared_ptr<const Product> keep_;
  const Product& product_;
  Rng rng_;
  int64_t to_;
  Arrivals tasks_;
  RenderedMessage system_;
  std::vector<RenderedMessage> history_;
  size_t bytes_ = 0, context_cap_ = 0;
  int steps_left_ = 0;
  bool pending_tool_ = true;
  bool big_ = false;
};

}  // namespace

void build_coding_agent(World& w, int n, const BuildOptions& opt, ActorList& out) {
  Rng& rng = w.rng();
  const int products = std::max(1, (n + 19) / 25);
  int made = 0;
  for (int p = 0; p < products; ++p) {
    auto shared = std::make_shared<const Product>(make_product(rng, p));
    const Product& prod = *shared;
    const int members = p == products - 1 ? n - made : n / products;
    const std::string group = "product-" + prod.name;
    std::vector<std::string> office_ips;
    int office_left = 0;
    for (int i = 0; i < members; ++i, ++made) {
      Identity id;
      id.account = &w.new_account("benign", "coding_agent", group, 1);
      // Some developers are colleagues behind one office NAT.
      if (office_left == 0 && rng.chance(0.15)) {
        office_left = static_cast<int>(rng.range(2, 6));
        office_ips = {w.datacenter_ip(rng)};
      }
      if (office_left > 0) {
        --office_left;
        id.ips = office_ips;
      } else {
        id.ips.push_back(w.residential_ip(rng));
      }
      id.user_agent =
          rng.chance(0.7) ? prod.user_agents[0] : prod.user_agents[rng.below(prod.user_agents.size())];
      id.content.escape = EscapeStyle::Utf8;  // one client stack for the whole product
      out.push_back(std::make_unique<AgentActor>(std::move(id), shared, opt.volume * rng.uniform(40, 160),
                                                 random_tz(rng), w.actor_rng(), w.start(), w.end()));
    }
  }
}

}  // namespace gen
