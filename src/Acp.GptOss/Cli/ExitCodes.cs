namespace Acp.GptOss.Cli;

/// <summary>Process exit codes.</summary>
internal static class ExitCodes
{
    public const int Success = 0;

    /// <summary>A file could not be read or did not hold what was expected.</summary>
    public const int InputError = 1;

    /// <summary>The command line was wrong, or asked for something that does not exist yet.</summary>
    public const int UsageError = 2;

    /// <summary>The model could not run: no model, or one that is missing, damaged or not GPT-OSS.</summary>
    public const int ModelError = 3;

    /// <summary>Interrupted (Ctrl-C or SIGTERM), as shells report a SIGINT: 128 + 2.</summary>
    public const int Interrupted = 130;
}
