using System.CommandLine;
using Acp.GptOss.Agent;
using Acp.GptOss.Hosting;
using Acp.GptOss.Inference;
using Acp.GptOss.Inference.Llama;
using Acp.GptOss.Inference.Remote;
using Acp.GptOss.Inference.Scripted;
using Acp.GptOss.Models;
using Acp.GptOss.Provisioning;
using Acp.GptOss.Routing;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Cli;

/// <summary>The options that configure the agent and its engine, shared by the agent and <c>replay</c>.</summary>
internal sealed partial class AgentCommandLine
{
    public Option<string> Engine { get; } = new("--engine")
    {
        Description = "The inference engine: llama (GPT-OSS in-process, needs --model), remote (GPT-OSS on llama-server, vLLM, SGLang or an "
            + "OpenAI-compatible server, needs --endpoint), script (a scripted model, for tests and demos), none, or auto: remote with --endpoint "
            + "or a \"remote\" entry in the config file, llama with --model, script with --script, llama on a model found on this machine, "
            + "else a first run that offers to download gpt-oss-20b from the chat (docs/models.md §9).",
        DefaultValueFactory = _ => "auto",
    };

    public Option<string?> Model { get; } = new("--model")
    {
        Description = "A GPT-OSS GGUF file, run in-process through llama.cpp.",
    };

    public Option<string?> Endpoint { get; } = new("--endpoint")
    {
        Description = "With --engine remote: the server's URL, such as http://gpu-box:8080/ (docs/remote.md).",
    };

    public Option<string?> ApiKeyFile { get; } = new("--api-key-file")
    {
        Description = "With --engine remote: a file holding the server's API key, sent as a bearer token.",
    };

    public Option<string?> RemoteModelName { get; } = new("--remote-model")
    {
        Description = "With --engine remote: the model to ask the server for; by default the one it serves.",
    };

    public Option<string?> RemoteKindOption { get; } = new("--remote-kind")
    {
        Description = "With --engine remote: llama-server, vllm, sglang or openai (chat messages only); detected from the server when left out.",
    };

    public Option<double> RemoteStallSeconds { get; } = new("--remote-stall-seconds")
    {
        Description = "With --engine remote: a completion that receives nothing from the server for this long fails.",
        DefaultValueFactory = _ => 60,
    };

    public Option<string?> FastModel { get; } = new("--fast-model")
    {
        Description = "A small GGUF (any llama.cpp model with a chat template) for short requests; the router sends the rest to GPT-OSS.",
    };

    public Option<int> RouteThreshold { get; } = new("--route-threshold")
    {
        Description = "Requests over this many tokens go to GPT-OSS, shorter ones to the fast model unless they ask for code.",
        DefaultValueFactory = _ => PromptRouter.DefaultThreshold,
    };

    public Option<double> IdleUnloadMinutes { get; } = new("--idle-unload-minutes")
    {
        Description = "Unload a model after this many minutes without a prompt; 0 keeps models loaded.",
        DefaultValueFactory = _ => 30,
    };

    public Option<int> Threads { get; } = new("--threads")
    {
        Description = "CPU threads for the model.",
        DefaultValueFactory = _ => Environment.ProcessorCount,
    };

    public Option<int> GpuLayers { get; } = new("--gpu-layers")
    {
        Description = "Model layers to offload to a GPU: -1 every layer when llama.cpp has a GPU backend (Metal on Apple silicon), 0 none (CPU only).",
        DefaultValueFactory = _ => -1,
    };

    public Option<int> Parallel { get; } = new("--parallel")
    {
        Description = "GPT-OSS sessions decoded together in one shared context (continuous batching), at most; fewer when memory is short, and the rest wait. 1 gives each session a context of its own.",
        DefaultValueFactory = _ => 1,
    };

    public Option<float> Temperature { get; } = new("--temperature")
    {
        Description = "Sampling temperature; 0 samples greedily. OpenAI recommends 1.0 for GPT-OSS.",
        DefaultValueFactory = _ => 1.0f,
    };

    public Option<float> TopP { get; } = new("--top-p")
    {
        Description = "Nucleus sampling; 1.0 (OpenAI's recommendation) turns it off.",
        DefaultValueFactory = _ => 1.0f,
    };

    public Option<uint?> Seed { get; } = new("--seed")
    {
        Description = "Random seed for sampling; random when left out.",
    };

    public Option<string?> Script { get; } = new("--script")
    {
        Description = "With --engine script: a completion file (every sampling round), or a folder of 1.txt, 2.txt, ... (one per round; the last repeats).",
    };

    public Option<int> TokenDelayMs { get; } = new("--token-delay-ms")
    {
        Description = "With --engine script: milliseconds between tokens.",
        DefaultValueFactory = _ => 0,
    };

    public Option<string?> PromptLog { get; } = new("--prompt-log")
    {
        Description = "With --engine script: append every rendered prompt to this file, with literal special tokens.",
    };

    public Option<int> MaxTokens { get; } = new("--max-tokens")
    {
        Description = "The most tokens one model call may generate.",
        DefaultValueFactory = _ => new AgentOptions().MaxTokens,
    };

    public Option<int> MaxTurnRequests { get; } = new("--max-turn-requests")
    {
        Description = "The most model calls in one prompt turn.",
        DefaultValueFactory = _ => new AgentOptions().MaxTurnRequests,
    };

    public Option<int> ContextSize { get; } = new("--ctx-size")
    {
        Description = "The context size of a session, in tokens.",
        DefaultValueFactory = _ => 8192,
    };

    public Option<string> ReasoningDisplay { get; } = new("--reasoning-display")
    {
        Description = "What the user sees of the model's reasoning at first: hidden, status or full.",
        DefaultValueFactory = _ => "status",
    };

    public Option<string> Mode { get; } = new("--mode")
    {
        Description = "The mode a session starts in: ask (permission for edits and commands) or code (edits approved, commands ask).",
        DefaultValueFactory = _ => "ask",
    };

    public Option<int> CommandTimeout { get; } = new("--command-timeout-seconds")
    {
        Description = "The longest a command the model runs may take, in seconds; the model may ask for less.",
        DefaultValueFactory = _ => 600,
    };

    public void AddTo(Command command, bool withEngine)
    {
        if (withEngine)
        {
            AddEngineOptionsTo(command);
        }

        command.Options.Add(ContextSize);
        command.Options.Add(RouteThreshold);

        command.Options.Add(TokenDelayMs);
        command.Options.Add(MaxTokens);
        command.Options.Add(MaxTurnRequests);
        command.Options.Add(ReasoningDisplay);
        command.Options.Add(Mode);
        command.Options.Add(CommandTimeout);
    }

    /// <summary>
    /// The options of the engine alone (model, sampling, the scripted engine's), which <see cref="CreateEngines"/>
    /// reads; a command that runs the model without the agent adds these, <see cref="ContextSize"/>, <see cref="MaxTokens"/>
    /// and <see cref="TokenDelayMs"/>.
    /// </summary>
    public void AddEngineOptionsTo(Command command)
    {
        command.Options.Add(Engine);
        command.Options.Add(Model);
        command.Options.Add(Endpoint);
        command.Options.Add(ApiKeyFile);
        command.Options.Add(RemoteModelName);
        command.Options.Add(RemoteKindOption);
        command.Options.Add(RemoteStallSeconds);
        command.Options.Add(FastModel);
        command.Options.Add(IdleUnloadMinutes);
        command.Options.Add(Threads);
        command.Options.Add(GpuLayers);
        command.Options.Add(Parallel);
        command.Options.Add(Temperature);
        command.Options.Add(TopP);
        command.Options.Add(Seed);
        command.Options.Add(Script);
        command.Options.Add(PromptLog);
    }

    /// <summary>The agent options, or an error for the user.</summary>
    public AgentOptions? ReadOptions(ParseResult result, out string? error)
    {
        error = null;
        if (!SessionSettings.TryParseDisplay(result.GetValue(ReasoningDisplay)!, out ReasoningDisplay display))
        {
            error = "--reasoning-display takes hidden, status or full.";
            return null;
        }

        if (!SessionSettings.TryParseMode(result.GetValue(Mode)!, out AgentMode mode))
        {
            error = "--mode takes ask or code.";
            return null;
        }

        int commandTimeout = result.GetValue(CommandTimeout);
        if (commandTimeout < 1)
        {
            error = "--command-timeout-seconds must be at least 1.";
            return null;
        }

        int maxTokens = result.GetValue(MaxTokens);
        int maxTurnRequests = result.GetValue(MaxTurnRequests);
        if (maxTokens < 1 || maxTurnRequests < 1)
        {
            error = "--max-tokens and --max-turn-requests must be at least 1.";
            return null;
        }

        int threshold = result.GetValue(RouteThreshold);
        if (threshold < 0)
        {
            error = "--route-threshold must be 0 or more.";
            return null;
        }

        return new AgentOptions
        {
            MaxTokens = maxTokens,
            MaxTurnRequests = maxTurnRequests,
            DefaultSettings = new SessionSettings(ReasoningDisplay: display, Mode: mode),
            MaxCommandTimeout = TimeSpan.FromSeconds(commandTimeout),
            RouteThreshold = threshold,
            StateDirectory = AppDirectories.State,
        };
    }

    /// <summary>The engines the agent's options ask for, or an error for the user.</summary>
    public AgentEngines? CreateEngines(ParseResult result, ILoggerFactory loggers, out string? error)
    {
        var telemetry = new Telemetry(loggers.CreateLogger("Acp.GptOss.Telemetry"));
        string engine = result.GetValue(Engine)!;
        ModelEnvironment environment = ModelEnvironment.FromProcess();
        ModelConfig config;
        try
        {
            config = ModelConfig.Load(environment);
        }
        catch (ModelConfigException e)
        {
            error = e.Message;
            return null;
        }

        string? script = result.GetValue(Script);
        if (engine == "auto" && script is null && (result.GetValue(Endpoint) is not null || (result.GetValue(Model) is null && config.Remote is not null)))
        {
            engine = "remote";
        }

        error = ValidateSampling(result);
        if (error is not null)
        {
            return null;
        }

        if (engine == "remote")
        {
            // A remote engine needs no local GPT-OSS file: none is looked for.
            string? remoteFast = result.GetValue(FastModel) is { Length: > 0 } fastOption ? Path.GetFullPath(fastOption) : config.FastModel;
            RemoteEngineOptions? remote = RemoteOptions(result, config.Remote, out error);
            return remote is null
                ? null
                : new AgentEngines(
                    RemoteInferenceEngine.Start(remote, telemetry, loggers),
                    remoteFast is null ? null : LlamaChatEngine.Start(LlamaOptions(result, remoteFast), telemetry, loggers),
                    telemetry);
        }

        ModelLocation models = ModelLocator.Resolve(result.GetValue(Model), result.GetValue(FastModel), environment, config);
        IChatEngine? fast = models.Fast is { } fastPath ? LlamaChatEngine.Start(LlamaOptions(result, fastPath), telemetry, loggers) : null;
        if (engine == "auto")
        {
            if (script is null && models.GptOss is null)
            {
                // No model anywhere: the first prompt offers to download one (docs/models.md §9).
                return new AgentEngines(Downloadable(result, environment, telemetry, loggers), fast, telemetry);
            }

            engine = script is not null ? "script" : "llama";
        }

        if (engine != "llama")
        {
            return CreateEngine(result, engine, script, result.GetValue(PromptLog), loggers, out error) is { } other
                ? new AgentEngines(other, fast, telemetry)
                : null;
        }

        if (models.GptOss is not { } gptOss)
        {
            error = "--engine llama needs a GPT-OSS model: --model FILE.gguf, GPT_OSS_GGUF_PATH, or one found by `acp-gptoss models list`.";
            return null;
        }

        ILogger logger = loggers.CreateLogger("Acp.GptOss.Models");
        LogModelsResolved(logger, gptOss, models.GptOssSource ?? "?", models.Fast ?? "none");
        return new AgentEngines(LlamaInferenceEngine.Start(LlamaOptions(result, gptOss), telemetry, loggers), fast, telemetry);
    }

    /// <summary>The engine that downloads gpt-oss-20b when the user allows it, then runs it as <c>--engine llama</c> would.</summary>
    internal DownloadableInferenceEngine Downloadable(ParseResult result, ModelEnvironment environment, Telemetry telemetry, ILoggerFactory loggers) =>
        new(
            "gpt-oss-20b",
            environment,
            HubClient.CreateHttpClient(),
            new DownloadOptions(),
            path => LlamaInferenceEngine.Start(LlamaOptions(result, path), telemetry, loggers),
            loggers.CreateLogger("Acp.GptOss.Models"));

    internal LlamaEngineOptions LlamaOptions(ParseResult result, string path)
    {
        double idle = result.GetValue(IdleUnloadMinutes);
        return new LlamaEngineOptions
        {
            ModelPath = Path.GetFullPath(path),
            ContextSize = result.GetValue(ContextSize),
            Threads = Math.Max(1, result.GetValue(Threads)),
            GpuLayers = result.GetValue(GpuLayers),
            Parallel = result.GetValue(Parallel),
            Sampling = new LlamaCpp.LlamaSamplingOptions
            {
                Temperature = result.GetValue(Temperature),
                TopP = result.GetValue(TopP),
                Seed = result.GetValue(Seed),
            },
            IdleUnload = idle > 0 ? TimeSpan.FromMinutes(idle) : null,
        };
    }

    /// <summary>The remote engine's options from the command line, falling back to the config file's <c>remote</c> entry.</summary>
    internal RemoteEngineOptions? RemoteOptions(ParseResult result, RemoteConfig? config, out string? error)
    {
        error = null;
        string? endpoint = result.GetValue(Endpoint) ?? config?.Endpoint;
        if (endpoint is null)
        {
            error = "--engine remote needs --endpoint URL (the server's address), or a \"remote\" entry in the config file.";
            return null;
        }

        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https"))
        {
            error = $"--endpoint must be an http:// or https:// URL, not \"{endpoint}\".";
            return null;
        }

        RemoteKind? kind = null;
        if ((result.GetValue(RemoteKindOption) ?? config?.Kind) is { } kindText)
        {
            kind = kindText switch
            {
                "llama-server" => RemoteKind.LlamaServer,
                "vllm" => RemoteKind.Vllm,
                "sglang" => RemoteKind.Sglang,
                "openai" => RemoteKind.OpenAi,
                _ => null,
            };
            if (kind is null || !RemoteInferenceEngine.Dialects.Any(d => d.Kind == kind))
            {
                error = $"--remote-kind takes {string.Join(", ", RemoteInferenceEngine.Dialects.Select(d => RemoteModel.WireName(d.Kind)))}, not \"{kindText}\".";
                return null;
            }
        }

        string? apiKey = null;
        if ((result.GetValue(ApiKeyFile) is { } keyOption ? Path.GetFullPath(keyOption) : config?.ApiKeyFile) is { } keyFile)
        {
            try
            {
                apiKey = File.ReadAllText(keyFile).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                error = $"The API key file {keyFile} cannot be read: {e.Message}";
                return null;
            }

            if (apiKey.Length == 0)
            {
                error = $"The API key file {keyFile} is empty.";
                return null;
            }
        }

        double stall = result.GetValue(RemoteStallSeconds);
        if (stall <= 0)
        {
            error = "--remote-stall-seconds must be above 0.";
            return null;
        }

        return new RemoteEngineOptions
        {
            Endpoint = uri,
            ApiKey = apiKey,
            Model = result.GetValue(RemoteModelName) ?? config?.Model,
            Kind = kind,
            ContextSize = result.GetValue(ContextSize),
            StallTimeout = TimeSpan.FromSeconds(stall),
            Temperature = result.GetValue(Temperature),
            TopP = result.GetValue(TopP),
            Seed = result.GetValue(Seed),
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "GPT-OSS model: {Path} (from {Source}); fast model: {Fast}")]
    private static partial void LogModelsResolved(ILogger logger, string path, string source, string fast);

    private string? ValidateSampling(ParseResult result) =>
        result.GetValue(Temperature) < 0 ? "--temperature must be 0 or more."
        : result.GetValue(TopP) is <= 0 or > 1 ? "--top-p must be above 0 and at most 1."
        : result.GetValue(ContextSize) < 16 ? "--ctx-size must be at least 16."
        : result.GetValue(IdleUnloadMinutes) < 0 ? "--idle-unload-minutes must be 0 or more."
        : result.GetValue(GpuLayers) < -1 ? "--gpu-layers must be -1 (all), 0 (none) or a number of layers."
        : result.GetValue(Parallel) is < 1 or > 64 ? "--parallel must be from 1 to 64."
        : null;

    /// <summary>An engine of the given kind, or an error for the user.</summary>
    public IInferenceEngine? CreateEngine(
        ParseResult result, string engine, string? script, string? promptLog, ILoggerFactory loggers, out string? error)
    {
        error = null;
        int contextSize = result.GetValue(ContextSize);
        if (contextSize < 16)
        {
            error = "--ctx-size must be at least 16.";
            return null;
        }

        switch (engine)
        {
            case "none":
                return new UnavailableInferenceEngine();
            case "script":
                if (script is null)
                {
                    error = "--engine script needs --script FILE (a completion) or --script FOLDER (1.txt, 2.txt, ...).";
                    return null;
                }

                try
                {
                    return ScriptedInferenceEngine.Create(
                        script, TimeSpan.FromMilliseconds(Math.Max(0, result.GetValue(TokenDelayMs))), promptLog, contextSize,
                        loggers.CreateLogger("Acp.GptOss.Inference"));
                }
                catch (ArgumentException e)
                {
                    error = e.Message;
                    return null;
                }

            default:
                error = $"Unknown engine \"{engine}\": use llama, remote, script, none or auto.";
                return null;
        }
    }
}
