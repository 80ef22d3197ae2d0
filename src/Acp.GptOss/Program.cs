using Acp.GptOss.Cli;
using Acp.GptOss.Hosting;

return await AcpGptOssCommand.RunAsync(args, StdioStreams.OpenConsole(), CancellationToken.None).ConfigureAwait(false);
