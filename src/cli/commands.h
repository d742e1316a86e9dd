// Subcommands of the `gan` executable. Each takes the arguments after the subcommand name
// (argv[0] is "gan <name>") and returns the exit code; errors are thrown and mapped to exit
// codes in main.cpp (ConfigError/UsageError -> 2, others -> 1).
#pragma once

namespace gan::cli {

int run_train(int argc, char** argv);
int run_generate(int argc, char** argv);
int run_evaluate(int argc, char** argv);
int run_config(int argc, char** argv);
int run_info(int argc, char** argv);
int run_data(int argc, char** argv);              // gan data inspect|bench
int run_train_classifier(int argc, char** argv);  // gan train-classifier
int run_bench(int argc, char** argv);             // gan bench
int run_verify(int argc, char** argv);            // gan verify
int run_import(int argc, char** argv);            // gan import
int run_audit(int argc, char** argv);             // gan audit
int run_serve(int argc, char** argv);             // gan serve

}  // namespace gan::cli
