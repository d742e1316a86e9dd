// docs/cli.md must list every option of every subcommand (regenerate with
// scripts/gen_cli_docs.sh).
#include <catch2/catch.hpp>

#include <regex>
#include <set>

#include "cli_helpers.h"

TEST_CASE("docs/cli.md lists every subcommand and option", "[cli][docs]") {
  const std::string doc = test_cli::slurp(std::string(GAN_SOURCE_DIR) + "/docs/cli.md");
  REQUIRE_FALSE(doc.empty());
  auto top = test_cli::run({"--help"});
  REQUIRE(top.code == 0);
  std::regex command_re(R"(\n  ([a-z-]+) +\S)");
  std::set<std::string> commands;
  for (std::sregex_iterator it(top.out.begin(), top.out.end(), command_re), end; it != end; ++it) {
    commands.insert((*it)[1].str());
  }
  CHECK(commands.size() >= 7);
  std::regex option_re(R"(--[a-z][a-z0-9-]*)");
  for (const auto& cmd : commands) {
    INFO("gan " << cmd << " (regenerate docs with scripts/gen_cli_docs.sh)");
    CHECK(doc.find("## gan " + cmd) != std::string::npos);
    auto help = test_cli::run({cmd, "--help"});
    REQUIRE(help.code == 0);
    const auto section_start = doc.find("## gan " + cmd + "\n");
    const auto section_end = doc.find("\n## gan ", section_start + 1);
    const std::string section = doc.substr(section_start, section_end - section_start);
    for (std::sregex_iterator it(help.out.begin(), help.out.end(), option_re), end; it != end;
         ++it) {
      INFO(it->str());
      CHECK(section.find(it->str()) != std::string::npos);
    }
  }
}
