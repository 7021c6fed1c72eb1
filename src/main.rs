fn main() {
    std::process::exit(hasim::cli::main());
}
