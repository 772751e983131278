/// The commands every session starts with. Extension commands register here too, marked with the
/// extension that must be loaded before they answer.
let builtInCommands: [any DebuggerCommand] = [
    SystemStatusCommand(), ProcessStatusCommand(), VertargetCommand(), TimeCommand(), LastEventCommand(),
    ThreadCommand(), RegisterCommand(), ExceptionContextCommand(), ExceptionRecordCommand(), StackCommand(), NearSymbolCommand(),
    ExamineSymbolsCommand(), FrameCommand(), UniqueStacksCommand(), ContextRecordCommand(), SetAliasCommand(), DeleteAliasCommand(),
    ListAliasesCommand(), PrintfCommand(),
    ListModulesCommand(), DisplayMemoryCommand(), UnassembleCommand(), SearchMemoryCommand(), AddressCommand(),
    AnalyzeCommand(), TebCommand(), PebCommand(), HandleCommand(), EvaluateCommand(), EchoCommand(), LogCommand(), ScriptCommand(),
    HelpCommand(), QuitCommand(), OutputFormatCommand(), RunawayCommand(), HintsCommand(), ErrorCommand(),
] + sosCommands
